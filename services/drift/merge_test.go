package drift

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/window"
)

// Merged partials compute to the metrics of the partials they came from:
// three source partitions of two windows under one profile, then a window
// under a new profile (which Compute takes, being the last), and a partial
// of a profile this instance does not know, kept as it is.
func TestMergeKeepsMetrics(t *testing.T) {
	refs := NewReferences()
	old := profile(t)
	refs.Put(old)
	r := rand.New(rand.NewPCG(7, 7))
	next := *old
	next.ReferenceID = "next-profile"
	refs.Put(&next)
	newAcc := NewAcc(refs)
	var ps []schemas.WindowPartial
	partial := func(k window.Key, src int32, shift float64, ref string) {
		acc := newAcc(k)
		for range 400 {
			e := &schemas.InferenceEvent{LatencyMS: float64(r.IntN(20)), Features: map[string]any{
				"a": r.NormFloat64() + shift, "b": 10 + 2*r.NormFloat64(), "c": []string{"x", "y", "z", "w"}[r.IntN(4)]}}
			if r.IntN(40) == 0 {
				e.Features["b"] = nil
			}
			acc.add(e)
		}
		wp := schemas.WindowPartial{Family: "drift", ModelID: "m", ModelVersion: "v1", Variant: "production",
			WindowStart: k.Start, WindowEnd: k.End, SourcePartition: src, Count: 400, LateEvents: int64(src)}
		acc.Fill(&wp)
		wp.ReferenceID = ref
		ps = append(ps, wp)
	}
	for w := range 2 {
		k := window.Key{Family: "drift", ModelID: "m", ModelVersion: "v1", Variant: "production",
			Start: time.Unix(int64(300*w), 0).UTC(), End: time.Unix(int64(300*(w+1)), 0).UTC()}
		for src := range int32(3) {
			partial(k, src, float64(w), old.ReferenceID)
		}
	}
	k := window.Key{Family: "drift", ModelID: "m", ModelVersion: "v1", Variant: "production",
		Start: time.Unix(600, 0).UTC(), End: time.Unix(900, 0).UTC()}
	partial(k, 0, 2, "unknown-profile")
	partial(k, 1, 2, next.ReferenceID)
	partial(k, 2, 2, next.ReferenceID)

	c := &Computer{Refs: refs}
	merged, err := c.Merge(ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged) != 3 || merged[0].ReferenceID != old.ReferenceID || merged[1].ReferenceID != "unknown-profile" ||
		merged[2].ReferenceID != next.ReferenceID || merged[0].Count != 2400 || merged[2].Count != 800 ||
		merged[0].LateEvents != 2*(0+1+2) || !merged[0].WindowEnd.Equal(time.Unix(600, 0).UTC()) {
		t.Fatalf("merged into %d partials: %+v", len(merged), merged)
	}
	again, err := c.Merge(merged)
	if err != nil || len(again) != 3 || again[0].Count != 2400 {
		t.Fatalf("merging merged partials: %d partials, %v", len(again), err)
	}
	span := window.Final{Key: window.Key{Family: "drift", ModelID: "m", ModelVersion: "v1", Variant: "production",
		Start: time.Unix(0, 0).UTC(), End: time.Unix(900, 0).UTC()}}
	for _, tc := range []struct {
		name string
		ps   []schemas.WindowPartial
	}{{"all", ps}, {"one profile", ps[:6]}} {
		span.Partials = tc.ps
		want, err := c.Compute(context.Background(), span)
		if err != nil {
			t.Fatal(err)
		}
		if span.Partials, err = c.Merge(tc.ps); err != nil {
			t.Fatal(err)
		}
		got, err := c.Compute(context.Background(), span)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || len(want) < 20 {
			t.Fatalf("%s: %d metrics merged, %d from the partials", tc.name, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Metric != w.Metric || g.Feature != w.Feature || g.Detected != w.Detected || g.SampleCount != w.SampleCount ||
				g.ReferenceID != w.ReferenceID || abs(g.Value-w.Value) > 1e-9*max(1, abs(w.Value)) {
				t.Errorf("%s: metric %d merged %+v, from the partials %+v", tc.name, i, g, w)
			}
		}
	}
}
