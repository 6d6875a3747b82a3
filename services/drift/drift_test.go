package drift

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/reference"
	"github.com/driftline/driftline/services/stats"
	"github.com/driftline/driftline/services/window"
)

func profile(t *testing.T) *schemas.ReferenceProfile {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 1))
	var a, b []float64
	var c []string
	for i := 0; i < 3000; i++ {
		a = append(a, r.NormFloat64())
		b = append(b, 10+2*r.NormFloat64())
		c = append(c, []string{"x", "y", "z"}[r.IntN(3)])
	}
	p, err := reference.FromColumns("m", "v1", []reference.Column{
		{Name: "a", Kind: schemas.KindNumeric, Numbers: a},
		{Name: "b", Kind: schemas.KindNumeric, Numbers: b},
		{Name: "c", Kind: schemas.KindCategorical, Strings: c},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Two partitions' partials merged at level 2 give the same metrics as one
// partition that saw every event, and only the shifted feature drifts.
func TestComputeMergesPartitions(t *testing.T) {
	refs := NewReferences()
	p := profile(t)
	refs.Put(p)
	newAcc := NewAcc(refs)
	k := window.Key{Family: "drift", ModelID: "m", ModelVersion: "v1", Variant: "production",
		Start: time.Unix(0, 0).UTC(), End: time.Unix(300, 0).UTC()}
	one, parts := newAcc(k), []*Acc{newAcc(k), newAcc(k)}
	r := rand.New(rand.NewPCG(2, 2))
	for i := 0; i < 800; i++ {
		e := &schemas.InferenceEvent{LatencyMS: 10, Features: map[string]any{
			"a": r.NormFloat64() + 1.5, "b": 10 + 2*r.NormFloat64(), "c": []string{"x", "y", "z"}[r.IntN(3)]}}
		if i%50 == 0 {
			e.Features["b"] = nil
		}
		one.add(e)
		parts[i%2].add(e)
	}
	final := func(accs ...*Acc) window.Final {
		f := window.Final{Key: k}
		for i, a := range accs {
			wp := schemas.WindowPartial{SourcePartition: int32(i)}
			a.Fill(&wp)
			f.Partials = append(f.Partials, wp)
		}
		return f
	}
	c := &Computer{Refs: refs}
	want, err := c.Compute(context.Background(), final(one))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Compute(context.Background(), final(parts...))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d metrics from two partitions, %d from one", len(got), len(want))
	}
	scores := map[string]schemas.MetricWindow{}
	for i := range want {
		g, w := got[i], want[i]
		if g.Metric != w.Metric || g.Feature != w.Feature || g.Detected != w.Detected || g.SampleCount != w.SampleCount ||
			abs(g.Value-w.Value) > 1e-9*max(1, abs(w.Value)) {
			t.Errorf("metric %d: two partitions %+v, one %+v", i, g, w)
		}
		if w.Metric == "drift_score" {
			scores[w.Feature] = w
		}
	}
	for f, drifted := range map[string]bool{"a": true, "b": false, "c": false} {
		s, ok := scores[f]
		if !ok {
			t.Errorf("no drift_score for %s", f)
			continue
		}
		if s.Detected != drifted || s.ReferenceID != p.ReferenceID || s.Threshold == nil {
			t.Errorf("drift_score %s = %+v, want detected=%v", f, s, drifted)
		}
	}
	var missing, events bool
	for _, m := range want {
		if m.Feature == "b" && m.Metric == "missing_share" {
			missing = abs(m.Value-16.0/800) < 1e-12 && m.Family == schemas.FamilyQuality
		}
		if m.Metric == "event_count" {
			events = m.Value == 800
		}
	}
	if !missing || !events {
		t.Errorf("missing_share of b right: %v; event_count 800: %v", missing, events)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// Partials that went through the Avro encoding (as on driftline.partials)
// give the quality and quantile rows of a window: type mismatches and
// missing values under family quality, p50/p95/p99 from the merged
// quantile sketches within 1%, and a per-feature test override.
func TestComputeQualityAndQuantiles(t *testing.T) {
	refs := NewReferences()
	p := profile(t)
	refs.Put(p)
	newAcc := NewAcc(refs)
	k := window.Key{Family: "drift", ModelID: "m", ModelVersion: "v1", Variant: "production",
		Start: time.Unix(0, 0).UTC(), End: time.Unix(300, 0).UTC()}
	parts := []*Acc{newAcc(k), newAcc(k), newAcc(k)}
	var bs []float64
	for i := 0; i < 3000; i++ {
		b := 10 + float64(i%1000)/100 // 10.00 .. 19.99, 3 of each
		e := &schemas.InferenceEvent{Features: map[string]any{"a": 0.5, "b": b, "c": "x"}}
		if i%100 == 0 {
			e.Features["a"] = "not a number"
		}
		bs = append(bs, b)
		parts[i%3].add(e)
	}
	f := window.Final{Key: k}
	for i, a := range parts {
		wp := schemas.WindowPartial{SourcePartition: int32(i)}
		a.Fill(&wp)
		raw, err := schemas.Marshal(&wp)
		if err != nil {
			t.Fatal(err)
		}
		var back schemas.WindowPartial
		if err := schemas.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		f.Partials = append(f.Partials, back)
	}
	c := &Computer{Refs: refs, Tests: stats.Overrides{ByFeature: map[string]stats.Test{"b": {Metric: stats.MetricPSI, Threshold: 0.5}, "c": {Metric: stats.MetricKS}}}}
	out, err := c.Compute(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]schemas.MetricWindow{}
	for _, m := range out {
		got[m.Feature+"/"+m.Metric] = m
	}
	for _, w := range []struct {
		key    string
		family string
		value  float64
		tol    float64
		detect bool
	}{
		{"a/type_mismatch_share", schemas.FamilyQuality, 30.0 / 3000, 1e-15, false},
		{"a/type_mismatches", schemas.FamilyQuality, 30, 0, false},
		{"a/constant", schemas.FamilyQuality, 1, 0, true}, // stuck at 0.5
		{"b/constant", schemas.FamilyQuality, 0, 0, false},
		{"a/out_of_range_share", schemas.FamilyQuality, 0, 0, false},
		{"b/out_of_range_share", schemas.FamilyQuality, -1, 0, false}, // checked below
		{"b/p50", schemas.FamilyDrift, 14.995, 0.01 * 15, false},
		{"b/p95", schemas.FamilyDrift, 19.495, 0.01 * 19.5, false},
		{"b/p99", schemas.FamilyDrift, 19.895, 0.01 * 19.9, false},
		{"a/p50", schemas.FamilyDrift, 0.5, 0, false}, // clamped to the exact range
	} {
		m, ok := got[w.key]
		if !ok {
			t.Errorf("no %s", w.key)
			continue
		}
		if m.Family != w.family || w.value >= 0 && abs(m.Value-w.value) > w.tol || m.Detected != w.detect {
			t.Errorf("%s = %+v, want family %s value %v±%v detected %v", w.key, m, w.family, w.value, w.tol, w.detect)
		}
	}
	// b: the reference is 10 ± 2 normal; values above its maximum are out
	// of range.
	above := 0
	fp := &p.Features[1]
	for _, b := range bs {
		if b > fp.Max || b < fp.Min {
			above++
		}
	}
	if m := got["b/out_of_range_share"]; abs(m.Value-float64(above)/3000) > 1e-15 {
		t.Errorf("b out_of_range_share %v, want %v", m.Value, float64(above)/3000)
	}
	// b's test is PSI at 0.5; c's override (KS on a categorical feature)
	// does not apply, so its default test decides.
	if s := got["b/drift_score"]; s.Threshold == nil || *s.Threshold != 0.5 || s.Value != got["b/psi"].Value {
		t.Errorf("b drift_score %+v, want psi at 0.5", s)
	}
	if s := got["c/drift_score"]; s.Value != got["c/jensen_shannon"].Value {
		t.Errorf("c drift_score %+v, want jensen_shannon", s)
	}
}
