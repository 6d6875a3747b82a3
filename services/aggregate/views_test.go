package aggregate_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/aggregate"
	"github.com/driftline/driftline/services/drift"
	"github.com/driftline/driftline/services/drift/drifttest"
	"github.com/driftline/driftline/services/shadow"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/store/storetest"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/stream/streamtest"
	"github.com/driftline/driftline/services/window"
	"github.com/prometheus/client_golang/prometheus"
)

func TestStateRoundTrip(t *testing.T) {
	q := []byte{1, 2, 3}
	ps := []schemas.WindowPartial{
		{Family: "drift", ModelID: "m", Variant: "production", SourcePartition: 0, Count: 3, FirstOffset: 0, LastOffset: 2,
			WindowStart: time.UnixMilli(0).UTC(), WindowEnd: time.UnixMilli(300000).UTC(), Watermark: time.UnixMilli(0).UTC(),
			Counters: map[string]float64{"events": 3}, ReferenceID: "r",
			Features: []schemas.FeatureSketch{{Name: "a", Kind: "numeric", Count: 3, BinCounts: []int64{1, 2}, QuantileSketch: q}}},
		{Family: "drift", ModelID: "m", Variant: "production", SourcePartition: 2, Count: 1, FirstOffset: 7, LastOffset: 7,
			WindowStart: time.UnixMilli(0).UTC(), WindowEnd: time.UnixMilli(300000).UTC(), Watermark: time.UnixMilli(0).UTC()},
	}
	b, err := aggregate.EncodeState(ps)
	if err != nil {
		t.Fatal(err)
	}
	got, err := aggregate.DecodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].SourcePartition != 0 || got[1].SourcePartition != 2 || got[0].Count != 3 ||
		got[1].FirstOffset != 7 || got[0].Counters["events"] != 3 || len(got[0].Features) != 1 ||
		!reflect.DeepEqual(got[0].Features[0].BinCounts, []int64{1, 2}) || !reflect.DeepEqual(got[0].Features[0].QuantileSketch, q) {
		t.Fatalf("decoded %+v, want %+v", got, ps)
	}
	for _, bad := range [][]byte{{0x80}, {5, 1, 2}, append([]byte{3}, b[1:4]...), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}} {
		if _, err := aggregate.DecodeState(bad); err == nil {
			t.Errorf("DecodeState(%x) took a broken state", bad)
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	b, err := aggregate.EncodeState([]schemas.WindowPartial{{Family: "drift", ModelID: "m", Count: 1,
		Features: []schemas.FeatureSketch{{Name: "a", Kind: "categorical", Categories: map[string]int64{"x": 1}}}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := aggregate.DecodeState(b)
		if err != nil {
			return
		}
		again, err := aggregate.EncodeState(ps)
		if err != nil {
			t.Fatalf("a decoded state does not encode: %v", err)
		}
		if _, err := aggregate.DecodeState(again); err != nil {
			t.Fatalf("a state encoded again does not decode: %v", err)
		}
	})
}

// viewRun feeds events through the two window levels the way the services
// do, with a real store and a Kafka for the metrics topic.
type viewRun struct {
	t    testing.TB
	l1   *drifttest.Level1
	l2   *aggregate.Level2
	poff int64
}

func newViewRun(t testing.TB, st store.Store, refs *drift.References, size time.Duration, views []window.View) *viewRun {
	prod := streamtest.Producer(t, stream.NewTopics("").Metrics())
	cfg := drifttest.Config(size)
	cfg.Views = views
	return &viewRun{t: t, l1: drifttest.NewLevel1(refs, cfg),
		l2: &aggregate.Level2{Engine: window.NewLevel2("drift", cfg), Computer: &drift.Computer{Refs: refs},
			Producer: prod, Store: st, Topics: stream.NewTopics("")},
	}
}

func (v *viewRun) event(e *drifttest.Event, now time.Time) {
	v.t.Helper()
	if err := v.l1.Add(e, now); err != nil {
		v.t.Fatal(err)
	}
}

// flush hands level 1's partials and heartbeats to level 2 and flushes it.
func (v *viewRun) flush(now time.Time, parts int32) {
	v.t.Helper()
	for _, p := range v.l1.Flush(now, parts) {
		v.l2.Engine.Add(0, v.poff, p, now)
		v.poff++
	}
	if _, err := v.l2.Flush(context.Background(), now); err != nil {
		v.t.Fatal(err)
	}
}

// metricsOf reads the latest metrics of [from, to) from table, by family,
// feature and metric.
func metricsOf(t *testing.T, st store.Store, table string, from, to time.Time) map[string]row {
	t.Helper()
	res, err := st.Query(context.Background(), fmt.Sprintf(`
SELECT family, feature, metric, value, detected, sample_count, revision
FROM %s WHERE window_start = %s AND window_end = %s`, table, store.TimeLiteral(from), store.TimeLiteral(to)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]row{}
	for _, r := range res.Rows {
		v, err1 := store.Float(r[3])
		n, err2 := store.Int(r[5])
		rev, err3 := store.Int(r[6])
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("row %v: %v %v %v", r, err1, err2, err3)
		}
		out[fmt.Sprint(r[0], "/", r[1], "/", r[2])] = row{value: v, detected: r[4] == true, n: n, revision: rev}
	}
	return out
}

type row struct {
	value    float64
	detected bool
	n        int64
	revision int64
}

// An hour's view merged from thirty two-minute windows (read in two chunks,
// merged as they are read) has the metrics of one hour-long window over the
// same events: every drift, quality and ops
// row, the same value (up to the order of floating-point sums), sample
// count and verdict. A late event that revises one of the windows after
// the view went out sends the view out again under a higher revision,
// still equal to the hour-long window with that event in it.
func TestHourViewEqualsOneHourWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	_, refs, err := drifttest.References(r)
	if err != nil {
		t.Fatal(err)
	}

	st, _ := storetest.Open(t)
	hour := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	const parts = 3
	views := newViewRun(t, st, refs, 2*time.Minute, []window.View{{Span: time.Hour, Every: time.Hour}})
	whole := newViewRun(t, st, refs, time.Hour, nil)
	now := time.Now()
	for i, e := range drifttest.Hour(r, hour, 6000, parts) {
		views.event(&e, now)
		whole.event(&e, now)
		if i%500 == 0 {
			views.flush(now, parts)
		}
	}
	views.flush(now, parts)
	whole.flush(now, parts)

	end := hour.Add(time.Hour)
	compare := func(wantRev int64) {
		t.Helper()
		want := metricsOf(t, st, "metrics_latest", hour, end)
		got := metricsOf(t, st, "metric_views_latest", hour, end)
		if len(want) < 20 || len(got) != len(want) {
			t.Fatalf("%d rows in the hour's view, %d in the hour-long window (want at least 20)", len(got), len(want))
		}
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			w, g := want[k], got[k]
			if g.n != w.n || g.detected != w.detected || math.Abs(g.value-w.value) > 1e-9*math.Max(1, math.Abs(w.value)) {
				t.Errorf("%s: view %+v, one window %+v", k, g, w)
			}
			if g.revision != wantRev {
				t.Errorf("%s: view revision %d, want %d", k, g.revision, wantRev)
			}
		}
		if d := want["drift//dataset_drift_share"]; d.value == 0 {
			t.Errorf("dataset_drift_share = %+v; feature a drifts through the hour", d)
		}
	}
	// Thirty windows, each from three source partitions: 3 partials,
	// revision 2 each; the view's revision is 30×3 − 1.
	compare(30*3 - 1)
	res, err := st.Query(context.Background(), "SELECT DISTINCT windows FROM metric_views_latest")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 {
		t.Fatalf("windows merged = %v, want 30 in every row", res.Rows)
	}
	if n, err := store.Int(res.Rows[0][0]); err != nil || n != 30 {
		t.Fatalf("windows merged = %v, want 30", res.Rows)
	}
	if ev := want(t, st, hour, end, "ops//event_count"); ev != 6000 {
		t.Fatalf("event_count of the hour = %v, want 6000", ev)
	}

	// A late event of 10:07 on partition 1, within retention.
	late := drifttest.Event{Partition: 1, InferenceEvent: drifttest.Late(hour.Add(7 * time.Minute))}
	views.event(&late, now)
	whole.event(&late, now)
	views.flush(now, parts)
	whole.flush(now, parts)
	compare(30*3 - 1 + 1)
	if ev := want(t, st, hour, end, "ops//event_count"); ev != 6001 {
		t.Fatalf("event_count of the hour after the late event = %v, want 6001", ev)
	}
}

func want(t *testing.T, st store.Store, from, to time.Time, key string) float64 {
	t.Helper()
	return metricsOf(t, st, "metric_views_latest", from, to)[key].value
}

// BenchmarkHourView computes the view of an hour of five-minute windows
// of three features from three source partitions, as level 2 does for the
// sliding hour at every window: read the twelve states, merge, compute.
func BenchmarkHourView(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	_, refs, err := drifttest.References(r)
	if err != nil {
		b.Fatal(err)
	}
	st, _ := storetest.Open(b)
	hour := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	run := newViewRun(b, st, refs, 5*time.Minute, nil)
	now := time.Now()
	for _, e := range drifttest.Hour(r, hour, 6000, 3) {
		run.event(&e, now)
	}
	run.flush(now, 3)
	comp := &drift.Computer{Refs: refs}
	k := window.ViewKey{Key: window.Key{Family: "drift", ModelID: drifttest.Model, ModelVersion: drifttest.Version,
		Variant: schemas.VariantProduction, Start: hour, End: hour.Add(time.Hour)}, Window: 5 * time.Minute}
	b.ResetTimer()
	for b.Loop() {
		v, err := aggregate.LoadView(context.Background(), st, k, comp)
		if err != nil {
			b.Fatal(err)
		}
		if v.Windows != 12 {
			b.Fatalf("%d windows", v.Windows)
		}
		if _, err := comp.Compute(context.Background(), v.Final); err != nil {
			b.Fatal(err)
		}
	}
}

// Views of several series over the same bounds are read in one query, and
// each gets the windows of its own series; a view longer than a chunk is
// read a chunk at a time and gets all of its windows.
func TestLoadViewsKeepsSeriesApart(t *testing.T) {
	st, _ := storetest.Open(t)
	start := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	var finals []window.Final
	for w := range 30 {
		for v, variant := range []string{"production", "shadow", "canary"} {
			k := window.Key{Family: "shadow", ModelID: "m", ModelVersion: "v1", Variant: variant,
				Start: start.Add(time.Duration(w) * time.Minute), End: start.Add(time.Duration(w+1) * time.Minute)}
			if variant == "canary" && w%2 == 1 {
				continue // a window the canary had no events in
			}
			p := schemas.WindowPartial{Family: "shadow", ModelID: "m", ModelVersion: "v1", Variant: variant, WindowStart: k.Start,
				WindowEnd: k.End, Count: int64(v + 1), Counters: map[string]float64{"pairs": float64(v + 1)}, FirstOffset: -1, LastOffset: -1}
			finals = append(finals, window.Final{Key: k, Partials: []schemas.WindowPartial{p}, Revision: int32(w % 3)})
		}
	}
	if err := aggregate.WriteStates(context.Background(), st, finals, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	key := func(variant string, minutes int) window.ViewKey {
		return window.ViewKey{Key: window.Key{Family: "shadow", ModelID: "m", ModelVersion: "v1", Variant: variant,
			Start: start, End: start.Add(time.Duration(minutes) * time.Minute)}, Window: time.Minute}
	}
	keys := []window.ViewKey{key("production", 10), key("shadow", 10), key("canary", 10), key("shadow", 30), key("other", 10)}
	vs, err := aggregate.LoadViews(context.Background(), st, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		windows  int
		pairs    float64
		revision int32
	}{
		{10, 10, 10 + 9 - 1}, // revisions 0,1,2,0,1,2,0,1,2,0: sum 9
		{10, 20, 10 + 9 - 1},
		{5, 15, 5 + 5 - 1},    // windows 0,2,4,6,8: revisions 0,2,1,0,2
		{30, 60, 30 + 30 - 1}, // ten of each revision
		{0, 0, 0},
	} {
		v := vs[i]
		var pairs float64
		for _, p := range v.Partials {
			pairs += p.Counters["pairs"]
		}
		if v.Key != keys[i].Key || v.Windows != want.windows || pairs != want.pairs || v.Revision != want.revision {
			t.Errorf("view %d (%s, %s): %d windows, %v pairs, revision %d; want %d, %v, %d", i, keys[i].Variant,
				keys[i].End.Sub(keys[i].Start), v.Windows, pairs, v.Revision, want.windows, want.pairs, want.revision)
		}
	}
}

// More views than one batch become ready at once: the flushes compute
// them all, each once.
func TestLevel2ComputesQueuedViews(t *testing.T) {
	st, _ := storetest.Open(t)
	prod := streamtest.Producer(t, stream.NewTopics("").Metrics())
	cfg := drifttest.Config(time.Minute)
	cfg.Views = []window.View{{Span: 2 * time.Minute, Every: time.Minute}}
	reg := prometheus.NewRegistry()
	l2 := &aggregate.Level2{Engine: window.NewLevel2("shadow", cfg), Computer: shadow.Computer{}, Producer: prod, Store: st,
		Topics: stream.NewTopics(""), Metrics: aggregate.NewMetrics(reg, "shadow")}
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	now := time.Now()
	var off int64
	const series = 40
	for w := range 2 {
		for i := range series {
			l2.Engine.Add(0, off, schemas.WindowPartial{Family: "shadow", ModelID: fmt.Sprintf("m%02d", i), Variant: "shadow",
				WindowStart: start.Add(time.Duration(w) * time.Minute), WindowEnd: start.Add(time.Duration(w+1) * time.Minute),
				PartitionCount: 1, Count: 1, Counters: map[string]float64{"pairs": 1, "agree": 1}, FirstOffset: int64(w), LastOffset: int64(w)}, now)
			off++
		}
	}
	l2.Engine.Add(0, off, schemas.WindowPartial{Family: "shadow", PartitionCount: 1, Watermark: start.Add(2 * time.Minute)}, now)
	views := func() int64 {
		res, err := st.Query(context.Background(), "SELECT count() FROM metric_views WHERE metric = 'pairs' AND value = 2 AND windows = 2")
		if err != nil {
			t.Fatal(err)
		}
		n, err := store.Int(res.Rows[0][0])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 10 {
		if _, err := l2.Flush(context.Background(), now); err != nil {
			t.Fatal(err)
		}
	}
	if n := views(); n != series {
		t.Fatalf("%d views of two windows written, want %d (one per series)", n, series)
	}
	// Each series also has the view of 09:59–10:01, of one window.
	for name, want := range map[string]float64{
		`driftline_views_computed_total{family="shadow"}`:   2 * series,
		`driftline_view_queue{family="shadow"}`:             0,
		`driftline_windows_finished_total{family="shadow"}`: 2 * series,
	} {
		if got := metricValue(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// metricValue returns the value of one counter or gauge series, written
// name{label="value"}.
func metricValue(t *testing.T, reg *prometheus.Registry, series string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					name += ","
				}
				name += l.GetName() + `="` + l.GetValue() + `"`
			}
			if name+"}" != series {
				continue
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s", series)
	return 0
}
