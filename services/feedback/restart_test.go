package feedback

import (
	"context"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/aggregate"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/stream/streamtest"
	"github.com/driftline/driftline/services/window"
)

// A performance window finished while a source partition was idle is
// joined with the labels stored then. When level 2 restarts before that
// partition passes the window, the replay finishes the window again, under
// the same revision, with the labels stored by then: those metrics must
// land, not be absorbed as a retry of the first insert.
func TestWindowJoinedAgainAfterLevel2Restart(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	prod := streamtest.Producer(t, stream.NewTopics("").Metrics())

	w := baseTime()
	var preds []store.Row
	// Both classes are predicted, so both joins give rows of the same
	// metrics and classes, and only their values differ.
	for i, id := range []string{"r1", "r2", "r3", "r4"} {
		class := []string{"a", "a", "b", "b"}[i]
		preds = append(preds, PredictionRow(inference("p"+id, id, "production", w.Add(time.Duration(i)*time.Minute), str(class), nil)))
	}
	if err := st.Insert(ctx, "predictions", "", preds); err != nil {
		t.Fatal(err)
	}
	addLabels := func(ls ...*schemas.LabelEvent) {
		t.Helper()
		var rows []store.Row
		for _, l := range ls {
			rows = append(rows, LabelRow(l))
		}
		if err := st.Insert(ctx, "labels", "", rows); err != nil {
			t.Fatal(err)
		}
	}
	addLabels(label("r1", w.Add(10*time.Minute), str("a"), nil), label("r3", w.Add(10*time.Minute), str("b"), nil))

	cfg := window.Config{Size: func(string) time.Duration { return 5 * time.Minute }, IdleTimeout: 10 * time.Second,
		RecomputeAfterIdle: true}
	now := time.Now()
	partial := schemas.WindowPartial{Family: "performance", ModelID: "m", ModelVersion: "v1", Variant: "production",
		WindowStart: w, WindowEnd: w.Add(5 * time.Minute), SourcePartition: 1, PartitionCount: 2, Count: 4,
		Watermark: w, FirstOffset: 0, LastOffset: 3}
	heartbeat := func(p int32, wm time.Time, idle bool) schemas.WindowPartial {
		return schemas.WindowPartial{Family: "performance", SourcePartition: p, PartitionCount: 2, Watermark: wm, Idle: idle,
			FirstOffset: -1, LastOffset: -1}
	}
	log := []schemas.WindowPartial{partial, heartbeat(0, w, true), heartbeat(1, w.Add(10*time.Minute), false)}
	newLevel2 := func() *aggregate.Level2 {
		return &aggregate.Level2{Engine: window.NewLevel2("performance", cfg), Computer: Computer{Store: st}, Producer: prod,
			Store: st, Topics: stream.NewTopics("")}
	}
	accuracy := func() (float64, int64) {
		t.Helper()
		res, err := st.Query(ctx, "SELECT value, sample_count FROM metrics_latest WHERE metric = 'accuracy' AND feature = ''")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != 1 {
			t.Fatalf("%d accuracy rows, want 1", len(res.Rows))
		}
		v, err1 := store.Float(res.Rows[0][0])
		n, err2 := store.Int(res.Rows[0][1])
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		return v, n
	}

	// First run: partition 0 is idle behind the window, which finishes
	// with the two labels stored so far.
	first := newLevel2()
	for i, p := range log {
		first.Engine.Add(0, int64(i), p, now)
	}
	if _, err := first.Flush(ctx, now.Add(cfg.IdleTimeout)); err != nil {
		t.Fatal(err)
	}
	if v, n := accuracy(); v != 1 || n != 2 {
		t.Fatalf("first join: accuracy %v over %d labels, want 1 over 2", v, n)
	}

	// The other two labels arrive (one wrong), level 2 restarts before
	// partition 0 comes back, and reads its partials again, now followed
	// by partition 0 past the window.
	addLabels(label("r2", w.Add(11*time.Minute), str("b"), nil), label("r4", w.Add(11*time.Minute), str("b"), nil))
	again := newLevel2()
	for i, p := range append(log, heartbeat(0, w.Add(10*time.Minute), false)) {
		again.Engine.Add(0, int64(i), p, now)
	}
	if _, err := again.Flush(ctx, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v, n := accuracy(); v != 0.75 || n != 4 {
		t.Fatalf("after the restart: accuracy %v over %d labels, want 0.75 over 4", v, n)
	}
}
