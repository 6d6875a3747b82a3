package shadow

import (
	"context"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kgo"
)

const topic = "driftline.inferences"

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func str(s string) *string               { return &s }
func num(f float64) *float64             { return &f }
func cls(c string) schemas.Prediction    { return schemas.Prediction{Class: &c} }
func score(s float64) schemas.Prediction { return schemas.Prediction{Score: &s} }

func TestAgree(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b schemas.Prediction
		want bool
	}{
		{"same class", cls("churn"), cls("churn"), true},
		{"other class", cls("churn"), cls("stay"), false},
		{"class is case-sensitive", cls("churn"), cls("Churn"), false},
		{"class wins over scores", schemas.Prediction{Class: str("a"), Score: num(0.9)}, schemas.Prediction{Class: str("a"), Score: num(0.1)}, true},
		{"class disagreement despite scores on one side", schemas.Prediction{Class: str("a"), Score: num(0.9)}, schemas.Prediction{Class: str("b"), Score: num(0.8)}, false},
		{"both scores above 0.5", score(0.7), score(0.99), true},
		{"both scores below 0.5", score(0.01), score(0.49), true},
		{"scores either side of 0.5", score(0.49), score(0.51), false},
		{"0.5 counts as positive", score(0.5), score(0.8), true},
		{"0.5 and just below", score(0.5), score(0.4999999), false},
		{"score only on one side falls back to nothing", schemas.Prediction{Class: str("a"), Score: num(0.9)}, score(0.9), true},
		{"equal values", schemas.Prediction{Value: num(12.5)}, schemas.Prediction{Value: num(12.5)}, true},
		{"values within 1e-9", schemas.Prediction{Value: num(1)}, schemas.Prediction{Value: num(1 + 5e-10)}, true},
		{"values apart", schemas.Prediction{Value: num(1)}, schemas.Prediction{Value: num(1.001)}, false},
		{"class against score", cls("churn"), score(0.9), false},
		{"score against value", score(0.9), schemas.Prediction{Value: num(0.9)}, false},
		{"class against value", cls("1"), schemas.Prediction{Value: num(1)}, false},
		{"one side empty", cls("churn"), schemas.Prediction{}, false},
		{"both empty", schemas.Prediction{}, schemas.Prediction{}, false},
		{"same top class", schemas.Prediction{Probabilities: map[string]float64{"a": 0.6, "b": 0.3, "c": 0.1}},
			schemas.Prediction{Probabilities: map[string]float64{"a": 0.4, "b": 0.35, "c": 0.25}}, true},
		{"other top class", schemas.Prediction{Probabilities: map[string]float64{"a": 0.6, "b": 0.4}},
			schemas.Prediction{Probabilities: map[string]float64{"a": 0.3, "b": 0.7}}, false},
		{"tied top classes resolve alike", schemas.Prediction{Probabilities: map[string]float64{"a": 0.5, "b": 0.5}},
			schemas.Prediction{Probabilities: map[string]float64{"b": 0.5, "a": 0.5}}, true},
	} {
		if got := Agree(c.a, c.b); got != c.want {
			t.Errorf("%s: Agree = %v, want %v", c.name, got, c.want)
		}
		if got := Agree(c.b, c.a); got != c.want {
			t.Errorf("%s (swapped): Agree = %v, want %v", c.name, got, c.want)
		}
	}
}

// ev describes one prediction routed to the Router.
type ev struct {
	part    int32
	offset  int64
	req     string
	variant string
	at      time.Duration // after t0
	pred    schemas.Prediction
	latency float64
}

func record(t *testing.T, e ev) *kgo.Record {
	t.Helper()
	ie := &schemas.InferenceEvent{EventID: e.req + "/" + e.variant, RequestID: e.req, ModelID: "churn-model", ModelVersion: "v1",
		Variant: e.variant, EventTime: t0.Add(e.at), Features: map[string]any{"age": int64(42)},
		Prediction: e.pred, LatencyMS: e.latency, Source: "app"}
	b, err := schemas.Marshal(ie)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: topic, Partition: e.part, Offset: e.offset, Key: []byte(e.req), Value: b}
}

func engineConfig() window.Config {
	return window.Config{ManualWatermark: true, Size: func(string) time.Duration { return time.Minute },
		OutOfOrderness: 5 * time.Second, IdleTimeout: time.Hour, Retain: 10 * time.Minute}
}

// counts is one window's shadow counters, as a partial carries them.
type counts struct {
	pairs, agree, scored, scoreDelta, latencyDelta float64
}

type winKey struct {
	part    int32
	variant string
	start   time.Duration // after t0
}

// run routes evs, then pushes every partition's watermark far past them and
// returns the handed-over partials' counters.
func run(t *testing.T, evs []ev) map[winKey]counts {
	t.Helper()
	eng := window.NewLevel1(engineConfig(), NewAcc)
	r := &Router{Horizon: 30 * time.Second, OutOfOrderness: 5 * time.Second, Topic: topic}
	now := time.Now()
	parts := map[int32]int64{}
	for _, e := range evs {
		if err := r.Route(record(t, e), eng, now); err != nil {
			t.Fatal(err)
		}
		parts[e.part] = max(parts[e.part], e.offset)
	}
	for p, off := range parts {
		// An unpaired request far later closes every window above.
		if err := r.Route(record(t, ev{part: p, offset: off + 1, req: "closer", variant: schemas.VariantProduction, at: time.Hour}), eng, now); err != nil {
			t.Fatal(err)
		}
	}
	ps, _ := eng.Flush(now)
	out := map[winKey]counts{}
	for _, p := range ps {
		wp := p.Envelope(topic, 2)
		p.Acc.Fill(&wp)
		k := winKey{p.Partition, p.Key.Variant, p.Key.Start.Sub(t0)}
		if _, dup := out[k]; dup {
			t.Fatalf("window %+v handed over twice", k)
		}
		if p.Key.Family != schemas.FamilyShadow || p.Key.ModelID != "churn-model" || p.Key.ModelVersion != "v1" {
			t.Errorf("partial key %+v, want the shadow family of churn-model v1", p.Key)
		}
		if wp.Count != int64(wp.Counters["pairs"]) {
			t.Errorf("partial count %d, pairs %v", wp.Count, wp.Counters["pairs"])
		}
		out[k] = counts{wp.Counters["pairs"], wp.Counters["agree"], wp.Counters["scored"],
			wp.Counters["score_delta_sum"], wp.Counters["latency_delta_sum"]}
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestRouterPairsOncePerWindow(t *testing.T) {
	const P, S, C = schemas.VariantProduction, schemas.VariantShadow, schemas.VariantCanary
	both := func(c string, s float64) schemas.Prediction { return schemas.Prediction{Class: &c, Score: &s} }
	for _, c := range []struct {
		name string
		evs  []ev
		want map[winKey]counts
	}{
		{"production first", []ev{
			{0, 0, "r1", P, 1 * time.Second, both("churn", 0.8), 10},
			{0, 1, "r1", S, 2 * time.Second, both("churn", 0.7), 14},
		}, map[winKey]counts{{0, S, 0}: {1, 1, 1, -0.1, 4}}},
		{"shadow first", []ev{
			{0, 0, "r1", S, 1 * time.Second, both("stay", 0.3), 9},
			{0, 1, "r1", P, 2 * time.Second, both("churn", 0.8), 10},
		}, map[winKey]counts{{0, S, 0}: {1, 0, 1, -0.5, -1}}},
		{"the window is the production prediction's", []ev{
			{0, 0, "r1", S, 65 * time.Second, both("churn", 0.9), 12},
			{0, 1, "r1", P, 59 * time.Second, both("churn", 0.8), 10},
		}, map[winKey]counts{{0, S, 0}: {1, 1, 1, 0.1, 2}}},
		{"shadow and canary against one production", []ev{
			{0, 0, "r1", C, 1 * time.Second, cls("stay"), 5},
			{0, 1, "r1", P, 1 * time.Second, cls("churn"), 10},
			{0, 2, "r1", S, 1 * time.Second, cls("churn"), 20},
		}, map[winKey]counts{{0, S, 0}: {1, 1, 0, 0, 10}, {0, C, 0}: {1, 0, 0, 0, -5}}},
		{"several requests, unpaired ones not counted", []ev{
			{0, 0, "r1", P, 1 * time.Second, score(0.9), 10},
			{0, 1, "r2", S, 2 * time.Second, score(0.2), 30},
			{0, 2, "r3", P, 3 * time.Second, score(0.6), 10}, // never paired
			{0, 3, "r1", S, 4 * time.Second, score(0.6), 11},
			{0, 4, "r2", P, 5 * time.Second, score(0.7), 20},
			{0, 5, "r4", S, 6 * time.Second, score(0.1), 10}, // never paired
		}, map[winKey]counts{{0, S, 0}: {2, 1, 2, -0.3 + -0.5, 1 + 10}}},
		{"two windows", []ev{
			{0, 0, "r1", P, 10 * time.Second, cls("a"), 10},
			{0, 1, "r1", S, 11 * time.Second, cls("a"), 10},
			{0, 2, "r2", P, 70 * time.Second, cls("a"), 10},
			{0, 3, "r2", S, 71 * time.Second, cls("b"), 12},
		}, map[winKey]counts{{0, S, 0}: {1, 1, 0, 0, 0}, {0, S, time.Minute}: {1, 0, 0, 0, 2}}},
		{"partitions kept apart", []ev{
			{0, 0, "r1", P, 1 * time.Second, cls("a"), 10},
			{1, 0, "r1", S, 1 * time.Second, cls("a"), 10}, // same id, other partition: not its pair
			{1, 1, "r2", P, 2 * time.Second, cls("a"), 10},
			{1, 2, "r2", S, 3 * time.Second, cls("a"), 13},
		}, map[winKey]counts{{1, S, 0}: {1, 1, 0, 0, 3}}},
		{"a pair arriving after the horizon is not one", []ev{
			{0, 0, "r1", P, 1 * time.Second, cls("a"), 10},
			{0, 1, "r9", P, 40 * time.Second, cls("a"), 10}, // moves time past r1's horizon
			{0, 2, "r1", S, 2 * time.Second, cls("a"), 10},
		}, map[winKey]counts{}},
		{"a redelivered shadow prediction counts once", []ev{
			{0, 0, "r1", P, 1 * time.Second, cls("a"), 10},
			{0, 1, "r1", S, 2 * time.Second, cls("a"), 12},
			{0, 2, "r1", S, 2 * time.Second, cls("a"), 12},
		}, map[winKey]counts{{0, S, 0}: {1, 1, 0, 0, 2}}},
		{"a shadow prediction redelivered before its production counts once", []ev{
			{0, 0, "r1", S, 1 * time.Second, cls("a"), 12},
			{0, 1, "r1", S, 1 * time.Second, cls("a"), 12},
			{0, 2, "r1", P, 2 * time.Second, cls("b"), 10},
		}, map[winKey]counts{{0, S, 0}: {1, 0, 0, 0, 2}}},
		{"a redelivered production prediction counts once", []ev{
			{0, 0, "r1", S, 1 * time.Second, cls("a"), 12},
			{0, 1, "r1", P, 2 * time.Second, cls("a"), 10},
			{0, 2, "r1", P, 2 * time.Second, cls("a"), 10},
		}, map[winKey]counts{{0, S, 0}: {1, 1, 0, 0, 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := run(t, c.evs)
			for k, w := range c.want {
				g, ok := got[k]
				if !ok {
					t.Errorf("no partial for %+v; got %+v", k, got)
					continue
				}
				if !near(g.pairs, w.pairs) || !near(g.agree, w.agree) || !near(g.scored, w.scored) ||
					!near(g.scoreDelta, w.scoreDelta) || !near(g.latencyDelta, w.latencyDelta) {
					t.Errorf("window %+v: %+v, want %+v", k, g, w)
				}
			}
			for k, g := range got {
				if _, ok := c.want[k]; !ok {
					t.Errorf("unexpected partial %+v: %+v", k, g)
				}
			}
		})
	}
}

// A request waiting for its pair holds its first record's offset until the
// partition's event time passes its horizon; paired and expired requests
// let it go.
func TestRouterFlushHoldsUnpairedOffsets(t *testing.T) {
	const P, S = schemas.VariantProduction, schemas.VariantShadow
	type step struct {
		e    *ev             // route this, or
		want map[int32]int64 // flush and expect these offsets (nil: none)
	}
	route := func(e ev) step { return step{e: &e} }
	flush := func(w map[int32]int64) step { return step{want: w} }
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"unpaired production holds until its horizon", []step{
			route(ev{0, 5, "r1", P, 0, cls("a"), 1}),
			flush(map[int32]int64{0: 5}),
			route(ev{0, 6, "r2", P, 10 * time.Second, cls("a"), 1}),
			route(ev{0, 7, "r2", S, 10 * time.Second, cls("a"), 1}),
			route(ev{0, 8, "r3", P, 30 * time.Second, cls("a"), 1}), // exactly at r1's horizon: still waiting
			flush(map[int32]int64{0: 5}),
			route(ev{0, 9, "r4", P, 30*time.Second + time.Millisecond, cls("a"), 1}), // past it
			flush(map[int32]int64{0: 6}),                                             // r2 is now the oldest request that may still get a variant
			route(ev{0, 10, "r5", S, 2 * time.Minute, cls("a"), 1}),
			flush(map[int32]int64{0: 10}),
		}},
		{"unpaired shadow holds too", []step{
			route(ev{0, 0, "r1", S, 0, cls("a"), 1}),
			route(ev{0, 1, "r2", P, 5 * time.Second, cls("a"), 1}),
			flush(map[int32]int64{0: 0}),
			route(ev{0, 2, "r1", P, 6 * time.Second, cls("a"), 1}),  // paired at last
			route(ev{0, 3, "r3", P, 34 * time.Second, cls("a"), 1}), // past r1's horizon, not r2's
			flush(map[int32]int64{0: 1}),
		}},
		{"partitions hold independently", []step{
			route(ev{0, 3, "r1", P, 0, cls("a"), 1}),
			route(ev{1, 7, "r2", P, 0, cls("a"), 1}),
			flush(map[int32]int64{0: 3, 1: 7}),
			route(ev{1, 8, "r3", P, time.Minute, cls("a"), 1}),
			flush(map[int32]int64{0: 3, 1: 8}),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			eng := window.NewLevel1(engineConfig(), NewAcc)
			r := &Router{Horizon: 30 * time.Second, OutOfOrderness: 5 * time.Second, Topic: topic}
			now := time.Now()
			for i, s := range c.steps {
				if s.e != nil {
					if err := r.Route(record(t, *s.e), eng, now); err != nil {
						t.Fatal(err)
					}
					continue
				}
				offs, err := r.Flush(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				got := map[int32]int64{}
				for tp, ps := range offs {
					if tp != topic {
						t.Errorf("step %d: offsets for topic %q", i, tp)
					}
					for p, o := range ps {
						got[p] = o
					}
				}
				if len(got) != len(s.want) {
					t.Errorf("step %d: Flush = %v, want %v", i, got, s.want)
					continue
				}
				for p, o := range s.want {
					if got[p] != o {
						t.Errorf("step %d: Flush = %v, want %v", i, got, s.want)
					}
				}
			}
		})
	}
}

// Undecodable records are skipped without an error: they never stop the
// shadow-evaluator's partition.
func TestRouterSkipsUndecodable(t *testing.T) {
	eng := window.NewLevel1(engineConfig(), NewAcc)
	r := &Router{Topic: topic}
	if err := r.Route(&kgo.Record{Topic: topic, Value: []byte("{not avro")}, eng, time.Now()); err != nil {
		t.Fatalf("Route of garbage = %v, want nil", err)
	}
	offs, err := r.Flush(context.Background())
	if err != nil || len(offs) != 0 {
		t.Fatalf("Flush = %v, %v; want nothing held", offs, err)
	}
}

func metricMap(t *testing.T, ms []schemas.MetricWindow, k window.Key) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, m := range ms {
		if m.Family != schemas.FamilyShadow || m.ModelID != k.ModelID || m.ModelVersion != k.ModelVersion || m.Variant != k.Variant ||
			!m.WindowStart.Equal(k.Start) || !m.WindowEnd.Equal(k.End) {
			t.Errorf("metric %s carries %+v, want the window %+v", m.Metric, m, k)
		}
		if _, dup := out[m.Metric]; dup {
			t.Errorf("metric %s twice", m.Metric)
		}
		out[m.Metric] = m.Value
	}
	return out
}

func TestComputerSumsPartitions(t *testing.T) {
	k := window.Key{Family: schemas.FamilyShadow, ModelID: "churn-model", ModelVersion: "v1", Variant: "shadow",
		Start: t0, End: t0.Add(time.Minute)}
	partial := func(p int32, c counts) schemas.WindowPartial {
		return schemas.WindowPartial{SourcePartition: p, Counters: map[string]float64{"pairs": c.pairs, "agree": c.agree,
			"scored": c.scored, "score_delta_sum": c.scoreDelta, "latency_delta_sum": c.latencyDelta}}
	}
	for _, c := range []struct {
		name     string
		partials []counts
		want     map[string]float64
		samples  int64
	}{
		{"two partitions", []counts{{3, 2, 3, 0.3, 30}, {5, 5, 1, -0.1, 10}},
			map[string]float64{"pairs": 8, "agreement_rate": 7.0 / 8, "latency_delta_ms_mean": 40.0 / 8, "score_delta_mean": 0.2 / 4}, 8},
		{"no scores", []counts{{4, 1, 0, 0, -8}, {0, 0, 0, 0, 0}},
			map[string]float64{"pairs": 4, "agreement_rate": 0.25, "latency_delta_ms_mean": -2}, 4},
		{"no pairs", []counts{{0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}}, map[string]float64{"pairs": 0}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := window.Final{Key: k}
			for i, pc := range c.partials {
				f.Partials = append(f.Partials, partial(int32(i), pc))
			}
			ms, err := Computer{}.Compute(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			got := metricMap(t, ms, k)
			if len(got) != len(c.want) {
				t.Errorf("metrics %v, want %v", got, c.want)
			}
			for name, w := range c.want {
				if g, ok := got[name]; !ok || !near(g, w) {
					t.Errorf("%s = %v (present %v), want %v", name, g, ok, w)
				}
			}
			for _, m := range ms {
				if m.SampleCount != c.samples {
					t.Errorf("%s sample count %d, want %d", m.Metric, m.SampleCount, c.samples)
				}
			}
		})
	}
}

// From records on two source partitions through level 1 and the Computer:
// the window's agreement is over both partitions' pairs.
func TestRouterToComputer(t *testing.T) {
	const P, S = schemas.VariantProduction, schemas.VariantShadow
	got := run(t, []ev{
		{0, 0, "a1", P, 1 * time.Second, score(0.9), 10},
		{0, 1, "a1", S, 1 * time.Second, score(0.8), 12},
		{0, 2, "a2", P, 2 * time.Second, score(0.9), 10},
		{0, 3, "a2", S, 2 * time.Second, score(0.3), 16},
		{1, 0, "b1", S, 3 * time.Second, score(0.1), 20},
		{1, 1, "b1", P, 3 * time.Second, score(0.2), 10},
	})
	k := window.Key{Family: schemas.FamilyShadow, ModelID: "churn-model", ModelVersion: "v1", Variant: S, Start: t0, End: t0.Add(time.Minute)}
	f := window.Final{Key: k}
	var keys []winKey
	for wk := range got {
		keys = append(keys, wk)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].part < keys[j].part })
	for _, wk := range keys {
		c := got[wk]
		f.Partials = append(f.Partials, schemas.WindowPartial{SourcePartition: wk.part, Counters: map[string]float64{
			"pairs": c.pairs, "agree": c.agree, "scored": c.scored, "score_delta_sum": c.scoreDelta, "latency_delta_sum": c.latencyDelta}})
	}
	if len(f.Partials) != 2 {
		t.Fatalf("partials %+v, want one per source partition", got)
	}
	ms, err := Computer{}.Compute(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"pairs": 3, "agreement_rate": 2.0 / 3, "score_delta_mean": (-0.1 - 0.6 - 0.1) / 3, "latency_delta_ms_mean": (2 + 6 + 10) / 3.0}
	m := metricMap(t, ms, k)
	for name, w := range want {
		if !near(m[name], w) {
			t.Errorf("%s = %v, want %v", name, m[name], w)
		}
	}
}

// After a rebalance the requests of a revoked partition stop holding its
// offsets here: the new owner replays them.
func TestRouterRevokedForgetsPartition(t *testing.T) {
	const P = schemas.VariantProduction
	r := &Router{Horizon: time.Minute, OutOfOrderness: 5 * time.Second, Topic: topic}
	eng := window.NewLevel1(engineConfig(), NewAcc)
	now := time.Now()
	for _, e := range []ev{{0, 3, "r1", P, 0, cls("a"), 1}, {1, 7, "r2", P, 0, cls("a"), 1}} {
		if err := r.Route(record(t, e), eng, now); err != nil {
			t.Fatal(err)
		}
	}
	offs, _ := r.Flush(context.Background())
	if offs[topic][0] != 3 || offs[topic][1] != 7 {
		t.Fatalf("held %v, want partition 0 at 3 and 1 at 7", offs)
	}
	r.Revoked(topic, []int32{0})
	offs, _ = r.Flush(context.Background())
	if _, held := offs[topic][0]; held || offs[topic][1] != 7 {
		t.Errorf("after revoking 0: held %v, want only partition 1 at 7", offs)
	}
}
