package drift

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/reference"
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
