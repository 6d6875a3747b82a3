package loadgen

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseDrift(t *testing.T) {
	cases := []struct {
		in      string
		want    []Drift
		wantErr string
	}{
		{in: "", want: nil},
		{in: "f003@10m", want: []Drift{{Feature: "f003", At: 10 * time.Minute, Shift: 1.5}}},
		{in: "f003@10m:2, f001@0s:-0.5", want: []Drift{{"f003", 10 * time.Minute, 2}, {"f001", 0, -0.5}}},
		{in: "f003", wantErr: "want feature@offset"},
		{in: "@1m", wantErr: "want feature@offset"},
		{in: "f003@soon", wantErr: "not a non-negative duration"},
		{in: "f003@-1m", wantErr: "not a non-negative duration"},
		{in: "f003@1m:NaN", wantErr: "not a number"},
		{in: "f003@1m:lots", wantErr: "not a number"},
	}
	for _, c := range cases {
		got, err := ParseDrift(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseDrift(%q) error %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("ParseDrift(%q) = %v, %v; want %v", c.in, got, err, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("ParseDrift(%q)[%d] = %v, want %v", c.in, i, got[i], c.want[i])
			}
		}
	}
}

func TestOptionsRefused(t *testing.T) {
	for name, mod := range map[string]func(*Options){
		"no models":       func(o *Options) { o.Models = 0 },
		"too many feats":  func(o *Options) { o.Features = maxFeatures + 1 },
		"share above one": func(o *Options) { o.ShadowShare = 1.5 },
		"zero window":     func(o *Options) { o.Window = 0 },
		"unknown drift":   func(o *Options) { o.Drift = []Drift{{Feature: "f999", Shift: 1}} },
	} {
		o := Defaults()
		mod(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}

type rawInference struct {
	EventID    string         `json:"event_id"`
	RequestID  string         `json:"request_id"`
	ModelID    string         `json:"model_id"`
	Version    string         `json:"model_version"`
	Variant    string         `json:"variant"`
	Timestamp  int64          `json:"timestamp"`
	Features   map[string]any `json:"features"`
	Prediction struct {
		Class string  `json:"class"`
		Score float64 `json:"score"`
	} `json:"prediction"`
	LatencyMS float64           `json:"latency_ms"`
	Segments  map[string]string `json:"segments"`
}

type rawLabel struct {
	RequestID string `json:"request_id"`
	Label     string `json:"label"`
	Timestamp int64  `json:"timestamp"`
}

// TestGeneratorStream checks the generated mix against its options: JSON
// that parses into the adapter's raw shape, keys equal to request ids, event
// time laid out by EventsPerWindow, shadow and label shares, label delay,
// and the drift schedule moving exactly the drifted feature.
func TestGeneratorStream(t *testing.T) {
	o := Defaults()
	o.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o.Models, o.Features, o.Segments = 3, 8, 4
	o.ShadowShare, o.LabelShare, o.LabelDelay = 0.2, 0.5, 30*time.Second
	o.Window, o.EventsPerWindow = time.Minute, 1000
	o.Drift = []Drift{{Feature: "f001", At: 5 * time.Minute, Shift: 2}}
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	fs := newFeatures(o)

	const n = 20000
	byReq := map[string]rawInference{}
	var shadows, prods, labels int
	var lastInference int64
	models, segments := map[string]bool{}, map[string]bool{}
	// f001 before and after its drift, and f000, which never drifts.
	var before, after, steady []float64
	for i := 0; i < n; i++ {
		r := g.Next()
		if r.Label {
			var l rawLabel
			if err := json.Unmarshal(r.Value, &l); err != nil {
				t.Fatalf("label %d: %v\n%s", i, err, r.Value)
			}
			p, ok := byReq[l.RequestID]
			if !ok || string(r.Key) != l.RequestID {
				t.Fatalf("label for unknown request %q (key %q)", l.RequestID, r.Key)
			}
			if got := time.Duration(l.Timestamp-p.Timestamp) * time.Millisecond; got != o.LabelDelay {
				t.Fatalf("label delay %s, want %s", got, o.LabelDelay)
			}
			// Due when the next record's event time reaches it; a shadow shares
			// its twin's time, hence two steps.
			if l.Timestamp > lastInference+2*int64(time.Minute/1000/time.Millisecond) {
				t.Fatalf("label at %d came before the event time reached it (%d)", l.Timestamp, lastInference)
			}
			if l.Label != p.Prediction.Class && l.Label != "yes" && l.Label != "no" {
				t.Fatalf("label %q", l.Label)
			}
			labels++
			continue
		}
		var e rawInference
		if err := json.Unmarshal(r.Value, &e); err != nil {
			t.Fatalf("record %d: %v\n%s", i, err, r.Value)
		}
		if string(r.Key) != e.RequestID || e.EventID != e.RequestID+"/"+e.Variant || e.Version != ModelVersion {
			t.Fatalf("ids: key %q, %+v", r.Key, e)
		}
		if e.Timestamp < lastInference || r.Time.UnixMilli() != e.Timestamp {
			t.Fatalf("event time went back or disagrees: %d after %d (record time %s)", e.Timestamp, lastInference, r.Time)
		}
		lastInference = e.Timestamp
		if len(e.Features) != o.Features {
			t.Fatalf("%d features, want %d", len(e.Features), o.Features)
		}
		for j, f := range fs {
			v, ok := e.Features[f.name]
			if !ok {
				t.Fatalf("feature %s missing from %s", f.name, r.Value)
			}
			switch v.(type) {
			case nil:
			case float64:
				if f.categorical {
					t.Fatalf("categorical %s has a number", f.name)
				}
			case string:
				if !f.categorical {
					t.Fatalf("numeric %s has a string", f.name)
				}
			}
			if x, ok := v.(float64); ok && e.Variant == "production" {
				switch {
				case j == 1 && e.Timestamp < o.Start.Add(5*time.Minute).UnixMilli():
					before = append(before, x)
				case j == 1:
					after = append(after, x)
				case j == 0:
					steady = append(steady, x)
				}
			}
		}
		models[e.ModelID], segments[e.Segments["region"]] = true, true
		switch e.Variant {
		case "production":
			prods++
			byReq[e.RequestID] = e
		case "shadow":
			p, ok := byReq[e.RequestID]
			if !ok || p.Timestamp != e.Timestamp || p.ModelID != e.ModelID {
				t.Fatalf("shadow %+v does not follow its production twin %+v", e, p)
			}
			shadows++
		default:
			t.Fatalf("variant %q", e.Variant)
		}
	}
	// The first record is at Start and each inference advances a window's
	// 1/EventsPerWindow of event time.
	if want := o.Start.Add(time.Duration(prods+shadows-1) * (time.Minute / 1000)).UnixMilli(); lastInference != want {
		t.Errorf("last event time %d, want %d", lastInference, want)
	}
	if len(models) != o.Models || len(segments) != o.Segments {
		t.Errorf("saw %d models and %d segments, want %d and %d", len(models), len(segments), o.Models, o.Segments)
	}
	// Binomial shares: five standard errors.
	share := func(name string, k, of int, p float64) {
		se := math.Sqrt(p * (1 - p) / float64(of))
		if got := float64(k) / float64(of); math.Abs(got-p) > 5*se {
			t.Errorf("%s share %.3f, want %.3f ± %.3f", name, got, p, 5*se)
		}
	}
	share("shadow", shadows, prods, o.ShadowShare)
	// Labels due after the last inference are still pending.
	pending := len(g.labels)
	share("label", labels+pending, prods, o.LabelShare)

	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	f1 := fs[1]
	if d := (mean(after) - mean(before)) / f1.std; math.Abs(d-2) > 0.15 {
		t.Errorf("f001 moved by %.2f std after its drift, want 2", d)
	}
	if d := (mean(before) - f1.mean) / f1.std; math.Abs(d) > 0.15 {
		t.Errorf("f001 before its drift is off its reference mean by %.2f std", d)
	}
	if d := (mean(steady) - fs[0].mean) / fs[0].std; math.Abs(d) > 0.1 {
		t.Errorf("f000 (never drifted) is off its mean by %.2f std", d)
	}
}

// TestProfilesMatchStream checks that the published profiles describe the
// undrifted stream: every feature, of the right kind, centred where the
// generator draws.
func TestProfilesMatchStream(t *testing.T) {
	o := Defaults()
	o.Models, o.Features = 2, 12
	ps, err := Profiles(o, 4000)
	if err != nil {
		t.Fatal(err)
	}
	fs := newFeatures(o)
	if len(ps) != 2 || ps[1].ModelID != ModelID(1) || ps[1].ModelVersion != ModelVersion {
		t.Fatalf("profiles %d, second %s %s", len(ps), ps[1].ModelID, ps[1].ModelVersion)
	}
	cats := 0
	for i, fp := range ps[0].Features {
		f := fs[i]
		if fp.Name != f.name {
			t.Fatalf("feature %d is %s, want %s", i, fp.Name, f.name)
		}
		if f.categorical {
			cats++
			if fp.Kind != "categorical" || len(fp.Categories) != len(f.categories) {
				t.Errorf("%s: kind %s with %d categories, want categorical with %d", f.name, fp.Kind, len(fp.Categories), len(f.categories))
			}
			continue
		}
		if fp.Kind != "numeric" || math.Abs(fp.Mean-f.mean) > 0.1*f.std || math.Abs(fp.Std-f.std) > 0.1*f.std {
			t.Errorf("%s: %s mean %.2f std %.2f, want numeric %.2f and %.2f", f.name, fp.Kind, fp.Mean, fp.Std, f.mean, f.std)
		}
		if share := float64(fp.Missing) / 4000; math.Abs(share-o.MissingShare) > 0.01 {
			t.Errorf("%s: missing share %.3f, want %.3f", f.name, share, o.MissingShare)
		}
	}
	if cats != 3 {
		t.Errorf("%d categorical features of 12 at a share of 0.25, want 3", cats)
	}
}

// BenchmarkNext is the generator's own ceiling: one record with 20
// features, a tenth of requests shadowed.
func BenchmarkNext(b *testing.B) {
	g, err := New(Defaults())
	if err != nil {
		b.Fatal(err)
	}
	var bytes int64
	for b.Loop() {
		bytes += int64(len(g.Next().Value))
	}
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
