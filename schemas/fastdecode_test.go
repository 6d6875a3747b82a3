package schemas

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// fastLimits is low enough that the fuzzer reaches the item limit.
var fastLimits = Limits{MaxItems: 1 << 12}.withDefaults()

// compareFast decodes body, written with w, on the fast and the generic path
// and fails unless both give the same value or both fail with the same
// sentinels. It returns the fast path's error.
func compareFast(t *testing.T, w *writer, body []byte, limits Limits) error {
	t.Helper()
	var fast, generic any
	switch w.event {
	case evInference:
		fast, generic = &InferenceEvent{}, &InferenceEvent{}
	case evLabel:
		fast, generic = &LabelEvent{}, &LabelEvent{}
	default:
		t.Fatalf("no fast path for %s", w.event.short)
	}
	handled, ferr := decodeCurrent(w, body, fast, limits)
	if !handled {
		t.Fatalf("%s written with the current schema did not take the fast path", w.event.short)
	}
	gerr := decodeGeneric(w, body, generic, limits)
	if errors.Is(gerr, errPanic) {
		t.Fatalf("goavro panicked: %v", gerr)
	}
	if (ferr == nil) != (gerr == nil) {
		t.Fatalf("fast path error %v, generic path error %v", ferr, gerr)
	}
	if ferr != nil {
		for _, s := range sentinels {
			if errors.Is(ferr, s) != errors.Is(gerr, s) {
				t.Fatalf("different error classes:\n fast:    %v\n generic: %v", ferr, gerr)
			}
		}
		return ferr
	}
	if !sameEvent(fast, generic) {
		t.Fatalf("decoded values differ\n fast:    %+v\n generic: %+v", deref(fast), deref(generic))
	}
	return nil
}

// sameEvent is reflect.DeepEqual, except that NaN equals NaN: the encodings
// must then be equal byte for byte and maps nil in the same places.
func sameEvent(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ea, err1 := Marshal(a)
	eb, err2 := Marshal(b)
	if err1 != nil || err2 != nil || !bytes.Equal(ea, eb) {
		return false
	}
	if x, ok := a.(*InferenceEvent); ok {
		y := b.(*InferenceEvent)
		return (x.Features == nil) == (y.Features == nil) &&
			(x.Segments == nil) == (y.Segments == nil) &&
			(x.Attributions == nil) == (y.Attributions == nil) &&
			(x.Prediction.Probabilities == nil) == (y.Prediction.Probabilities == nil) &&
			x.EventTime.Location() == y.EventTime.Location()
	}
	x, y := a.(*LabelEvent), b.(*LabelEvent)
	return x.LabelTime.Location() == y.LabelTime.Location()
}

// fastInputs are the encodings the fast path must agree on: every
// round-trip case of the two events, the golden files, the evolution inputs
// re-encoded with the current schema, and the fuzz corpus (valid and
// hostile) of FuzzUnmarshal.
func fastInputs(t *testing.T) []namedBytes {
	var out []namedBytes
	for _, c := range roundTripCases() {
		if e := eventOf(c.in); e == evInference || e == evLabel {
			b, err := Marshal(c.in)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, namedBytes{c.name, b})
		}
	}
	for _, p := range []string{"testdata/inference_event.single.golden", "testdata/inference_event.confluent.golden"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, namedBytes{p, b})
	}
	d := fuzzDecoder(t)
	for _, e := range evolutionSeeds(t) {
		var ev InferenceEvent
		if err := d.Unmarshal(e.b, &ev); err != nil {
			continue // a Trigger
		}
		b, err := Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, namedBytes{e.name + "-reencoded", b})
	}
	corpus, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, p := range corpus {
		out = append(out, namedBytes{p, readCorpusBytes(t, p)})
	}
	return out
}

// readCorpusBytes reads a one-value []byte file of Go's fuzz corpus format.
func readCorpusBytes(t *testing.T, p string) []byte {
	t.Helper()
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "[]byte(") {
		t.Fatalf("%s: not a []byte corpus file", p)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return []byte(s)
}

func TestFastDecodeAgreesWithGeneric(t *testing.T) {
	d := fuzzDecoder(t)
	var decoded, refused int
	for _, in := range fastInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			w, body, err := d.writerFor(t.Context(), in.b)
			if err != nil || (w.event != evInference && w.event != evLabel) {
				return
			}
			if w != w.event.cur {
				// Older and newer writers keep the generic path.
				if handled, _ := decodeCurrent(w, body, &InferenceEvent{}, fastLimits); handled {
					t.Fatal("a historic writer schema took the fast path")
				}
				return
			}
			if compareFast(t, w, body, fastLimits) == nil {
				decoded++
			} else {
				refused++
			}
		})
	}
	// The inputs must exercise both outcomes, or the comparison proves little.
	if decoded < 5 || refused < 3 {
		t.Fatalf("compared %d decoded and %d refused inputs, want at least 5 and 3", decoded, refused)
	}
}

// TestFastDecodeHostile covers what the fast path must refuse exactly as the
// generic one does, including goavro's own duplicate-key check, which the
// guard does not make.
func TestFastDecodeHostile(t *testing.T) {
	valid, _ := Marshal(goldenInference())
	body := valid[soeHeaderLen:]
	// Five strings, then event_time, then the features map.
	prefix := func(raw ...byte) []byte { return inferencePrefix(raw...)[soeHeaderLen:] }
	label, _ := Marshal(&LabelEvent{RequestID: "r", Class: ptr("a"), LabelTime: t0, Source: "s"})
	cases := []struct {
		name string
		w    *writer
		body []byte
		want error
	}{
		{"empty", evInference.cur, nil, ErrMalformed},
		{"trailing byte", evInference.cur, append(append([]byte{}, body...), 0), ErrMalformed},
		{"truncated", evInference.cur, body[:len(body)-1], ErrMalformed},
		{"huge map count", evInference.cur, prefix(0xfe, 0xff, 0xff, 0xff, 0x0f), ErrMalformed},
		{"duplicate feature", evInference.cur, prefix(0x04, 0x02, 'k', 0x00, 0x02, 'k', 0x00, 0x00), ErrMalformed},
		{"union out of range", evInference.cur, prefix(0x02, 0x02, 'k', 0x0a), ErrMalformed},
		{"bad boolean", evInference.cur, prefix(0x02, 0x02, 'k', 0x08, 0x02), ErrMalformed},
		{"overlong varint", evInference.cur, prefix(0x02, 0x02, 'k', 0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02), ErrMalformed},
		{"label truncated", evLabel.cur, label[soeHeaderLen : len(label)-2], ErrMalformed},
		{"label class index", evLabel.cur, append([]byte{0x02, 'r', 0x04}, label[soeHeaderLen+3:]...), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := compareFast(t, c.w, c.body, fastLimits)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}

	// The item limit counts entries across every map of the event.
	many := InferenceEvent{Features: map[string]any{}, Segments: map[string]string{}}
	for i := range 40 {
		many.Features[strconv.Itoa(i)] = nil
		many.Segments[strconv.Itoa(i)] = ""
	}
	b, _ := Marshal(&many)
	err := compareFast(t, evInference.cur, b[soeHeaderLen:], Limits{MaxItems: 60}.withDefaults())
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("80 entries against a limit of 60: got %v, want ErrTooLarge", err)
	}
}

// FuzzFastDecode feeds arbitrary bodies to both paths of both hot events:
// no panic, and the same value or the same error class.
func FuzzFastDecode(f *testing.F) {
	for _, c := range roundTripCases() {
		if e := eventOf(c.in); e == evInference || e == evLabel {
			b, _ := Marshal(c.in)
			f.Add(b[soeHeaderLen:])
		}
	}
	f.Add(inferencePrefix(0x04, 0x02, 'k', 0x00, 0x02, 'k', 0x00, 0x00)[soeHeaderLen:])
	f.Add(inferencePrefix(0xfe, 0xff, 0xff, 0xff, 0x0f)[soeHeaderLen:])
	f.Fuzz(func(t *testing.T, body []byte) {
		compareFast(t, evInference.cur, body, fastLimits)
		compareFast(t, evLabel.cur, body, fastLimits)
	})
}

// BenchmarkUnmarshalGeneric is BenchmarkUnmarshal's event on the generic
// path (guard, goavro, resolution), for comparison with the fast path.
func BenchmarkUnmarshalGeneric(b *testing.B) {
	buf, _ := Marshal(benchInference())
	body := buf[soeHeaderLen:]
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		var ev InferenceEvent
		if err := decodeGeneric(evInference.cur, body, &ev, fastLimits); err != nil {
			b.Fatal(err)
		}
	}
}
