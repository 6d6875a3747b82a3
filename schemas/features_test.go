package schemas

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

// compareFeatures decodes b with Unmarshal and UnmarshalFeatures and fails
// unless both refuse it with the same error, or both decode it to the same
// event and features. It returns UnmarshalFeatures' error.
func compareFeatures(t *testing.T, d *Decoder, b []byte) error {
	t.Helper()
	var want, got InferenceEvent
	werr := d.Unmarshal(b, &want)
	// A used slice: its old contents must not leak into the result.
	feats, gerr := d.UnmarshalFeatures(b, &got, []Feature{{Name: "stale", Type: FeatureDouble, Double: 1}})
	if fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("UnmarshalFeatures error %v, Unmarshal error %v", gerr, werr)
	}
	if werr != nil {
		return gerr
	}
	if got.Features != nil {
		t.Fatal("UnmarshalFeatures filled the feature map")
	}
	if want.Features != nil {
		got.Features = make(map[string]any, len(feats))
		for _, f := range feats {
			got.Features[f.Name] = f.Value()
		}
	}
	if len(feats) != len(want.Features) {
		t.Fatalf("%d features in the list, %d in the map", len(feats), len(want.Features))
	}
	if !sameEvent(&got, &want) {
		t.Fatalf("decoded values differ\n list: %+v\n map:  %+v", got, want)
	}
	return nil
}

func TestUnmarshalFeaturesAgrees(t *testing.T) {
	d := fuzzDecoder(t)
	var decoded, refused int
	for _, in := range fastInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			if compareFeatures(t, d, in.b) == nil {
				decoded++
			} else {
				refused++
			}
		})
	}
	for _, in := range evolutionSeeds(t) { // older and newer writers: the generic path
		t.Run(in.name, func(t *testing.T) {
			if compareFeatures(t, d, in.b) == nil {
				decoded++
			}
		})
	}
	if decoded < 10 || refused < 3 {
		t.Fatalf("compared %d decoded and %d refused inputs, want at least 10 and 3", decoded, refused)
	}
}

func TestUnmarshalFeatures(t *testing.T) {
	ev := goldenInference()
	ev.Features["nan"] = math.NaN()
	b, err := Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var got InferenceEvent
	feats, err := UnmarshalFeatures(b, &got, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Feature{
		{Name: "account_age_d", Type: FeatureLong, Long: -1},
		{Name: "amount", Type: FeatureDouble, Double: 129.95},
		{Name: "country", Type: FeatureString, Str: "DE"},
		{Name: "coupon_code", Type: FeatureNull},
		{Name: "is_returning", Type: FeatureBoolean, Bool: true},
		{Name: "n_items", Type: FeatureLong, Long: 3},
		{Name: "nan", Type: FeatureDouble, Double: math.NaN()},
		{Name: "ratio", Type: FeatureDouble, Double: math.Inf(1)},
	}
	same := func(a, b Feature) bool {
		return a.Name == b.Name && a.Type == b.Type && math.Float64bits(a.Double) == math.Float64bits(b.Double) &&
			a.Long == b.Long && a.Str == b.Str && a.Bool == b.Bool
	}
	if !slices.EqualFunc(feats, want, same) {
		t.Fatalf("features\n got  %+v\n want %+v", feats, want)
	}
	if got.ModelID != ev.ModelID || got.Segments["tier"] != "gold" || got.Features != nil {
		t.Fatalf("event %+v", got)
	}

	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"duplicate feature", inferencePrefix(0x04, 0x02, 'k', 0x00, 0x02, 'k', 0x00, 0x00), ErrMalformed},
		{"not an inference", mustMarshal(t, &LabelEvent{RequestID: "r"}), ErrWrongType},
		{"unknown framing", []byte{0x07}, ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := UnmarshalFeatures(c.b, &got, nil); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, err := UnmarshalFeatures(b, nil, nil); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("nil event: %v", err)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The duplicate reported is the first repeated name in record order, as
// goavro's map decoder reports it, whatever the list's length.
func TestFirstDuplicate(t *testing.T) {
	list := func(names ...string) []Feature {
		fs := make([]Feature, len(names))
		for i, n := range names {
			fs[i].Name = n
		}
		return fs
	}
	long := func(dupAt int) []Feature {
		var names []string
		for i := range 100 {
			names = append(names, fmt.Sprintf("f%03d", 99-i))
		}
		if dupAt >= 0 {
			names = append(names, names[dupAt], names[0])
		}
		return list(names...)
	}
	for _, c := range []struct {
		name string
		fs   []Feature
		want string
	}{
		{"none", nil, ""},
		{"sorted", list("a", "b", "c"), ""},
		{"unsorted, distinct", list("c", "a", "b"), ""},
		{"adjacent", list("a", "a"), "a"},
		{"first repeat wins", list("b", "a", "a", "b"), "a"},
		{"long, distinct", long(-1), ""},
		{"long, repeat", long(50), "f049"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, dup := firstDuplicate(c.fs)
			if got != c.want || dup != (c.want != "") {
				t.Fatalf("got %q, %v; want %q", got, dup, c.want)
			}
		})
	}
}

// FuzzUnmarshalFeatures feeds arbitrary bytes to Unmarshal and
// UnmarshalFeatures: the same error or the same event and features.
func FuzzUnmarshalFeatures(f *testing.F) {
	d := fuzzDecoder(f)
	for _, c := range roundTripCases() {
		if eventOf(c.in) == evInference {
			b, _ := Marshal(c.in)
			f.Add(b)
		}
	}
	f.Add(inferencePrefix(0x04, 0x02, 'k', 0x00, 0x02, 'k', 0x00, 0x00))
	f.Add(inferencePrefix(0x06, 0x02, 'b', 0x00, 0x02, 'a', 0x00, 0x02, 'b', 0x00, 0x00))
	f.Add(inferencePrefix(0xfe, 0xff, 0xff, 0xff, 0x0f))
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := compareFeatures(t, d, b); err != nil && !slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) {
			t.Fatalf("error without a sentinel: %v", err)
		}
	})
}
