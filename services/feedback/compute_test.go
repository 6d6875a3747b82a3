package feedback

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/window"
)

// Compute joins one window's predictions with their newest labels in
// ClickHouse; every figure is checked exactly.
func TestComputeAgainstChDB(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	w := baseTime() // the window [w, w+5m)
	end := w.Add(5 * time.Minute)
	at := func(d time.Duration) time.Time { return w.Add(d) }

	preds := []*schemas.InferenceEvent{
		// production: classifier rows
		inference("p1", "r1", "production", at(time.Minute), str("a"), nil),   // label a: right
		inference("p1", "r1", "production", at(time.Minute), str("a"), nil),   // the same event written twice (a replay)
		inference("p2", "r2", "production", at(2*time.Minute), str("b"), nil), // label a: wrong
		inference("p3", "r3", "production", at(3*time.Minute), str("a"), nil), // labelled b, then corrected to a: right
		inference("p4", "r4", "production", at(4*time.Minute), str("a"), nil), // never labelled
		// production: regressor rows
		inference("p5", "r5", "production", at(0), nil, num(10)),                             // label 12.5: error 2.5
		inference("p6", "r6", "production", at(5*time.Minute-time.Millisecond), nil, num(3)), // label 2: error 1
		// shadow predictions of the same requests
		inference("s1", "r1", "shadow", at(time.Minute), str("b"), nil),   // wrong
		inference("s2", "r2", "shadow", at(2*time.Minute), str("a"), nil), // right
		inference("s3", "r3", "shadow", at(3*time.Minute), str("a"), nil), // right
		// outside the window, labelled: never counted
		inference("p0", "r0", "production", at(-time.Millisecond), str("a"), nil),
		inference("p7", "r7", "production", end, str("a"), nil),
		// another model, same request id as r1: not this window's
		{EventID: "x1", RequestID: "r1", ModelID: "other", ModelVersion: "v1", Variant: "production", EventTime: at(time.Minute),
			Prediction: schemas.Prediction{Class: str("z")}},
	}
	labels := []*schemas.LabelEvent{
		label("r1", at(10*time.Minute), str("a"), nil),
		label("r2", at(10*time.Minute), str("a"), nil),
		// r3's corrected label is written first: the newest label_time wins,
		// not the last row written.
		label("r3", at(30*time.Minute), str("a"), nil),
		label("r3", at(20*time.Minute), str("b"), nil),
		label("r5", at(10*time.Minute), nil, num(12.5)),
		label("r6", at(10*time.Minute), nil, num(2)),
		label("r0", at(10*time.Minute), str("b"), nil),
		label("r7", at(10*time.Minute), str("b"), nil),
	}
	var pr, lr []store.Row
	for _, e := range preds {
		pr = append(pr, PredictionRow(e))
	}
	for _, l := range labels {
		lr = append(lr, LabelRow(l))
	}
	if err := st.Insert(ctx, "predictions", "", pr); err != nil {
		t.Fatal(err)
	}
	if err := st.Insert(ctx, "labels", "", lr); err != nil {
		t.Fatal(err)
	}

	type metric struct {
		name  string
		value float64
		n     int64
	}
	tests := []struct {
		name    string
		variant string
		start   time.Time
		want    []metric
	}{
		{"production", "production", w, []metric{
			{"predictions", 6, 6},
			{"labeled", 5, 6},
			{"label_coverage", 5.0 / 6, 6},
			{"accuracy", 2.0 / 3, 3}, // of the three class labels, not of every label
			{"mae", 3.5 / 2, 2},
		}},
		{"shadow", "shadow", w, []metric{
			{"predictions", 3, 3},
			{"labeled", 3, 3},
			{"label_coverage", 1, 3},
			{"accuracy", 2.0 / 3, 3},
		}},
		{"empty window", "production", w.Add(-time.Hour), []metric{
			{"predictions", 0, 0},
			{"labeled", 0, 0},
		}},
		{"next window, one wrong label", "production", end, []metric{
			{"predictions", 1, 1},
			{"labeled", 1, 1},
			{"label_coverage", 1, 1},
			{"accuracy", 0, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := window.Key{Family: schemas.FamilyPerformance, ModelID: "m", ModelVersion: "v1", Variant: tt.variant,
				Start: tt.start, End: tt.start.Add(5 * time.Minute)}
			got, err := Computer{Store: st}.Compute(ctx, window.Final{Key: k, Revision: 2})
			if err != nil {
				t.Fatal(err)
			}
			var want []schemas.MetricWindow
			for _, m := range tt.want {
				want = append(want, schemas.MetricWindow{ModelID: "m", ModelVersion: "v1", Variant: tt.variant,
					WindowStart: k.Start, WindowEnd: k.End, Family: schemas.FamilyPerformance,
					Metric: m.name, Value: m.value, SampleCount: m.n})
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("metrics differ")
				for _, m := range got {
					t.Logf(" got  %s = %v over %d", m.Metric, m.Value, m.SampleCount)
				}
				for _, m := range want {
					t.Logf(" want %s = %v over %d", m.Metric, m.Value, m.SampleCount)
				}
			}
		})
	}
}
