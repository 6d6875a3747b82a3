package feedback

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/perf"
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
		class string
	}
	tests := []struct {
		name    string
		variant string
		start   time.Time
		want    []metric
	}{
		{"production", "production", w, []metric{
			{"predictions", 6, 6, ""},
			{"labeled", 5, 6, ""},
			{"label_coverage", 5.0 / 6, 6, ""},
			{"accuracy", 2.0 / 3, 3, ""}, // of the three class labels, not of every label
			// a: labelled 3 times, predicted right twice; b: predicted once, wrongly
			{"support", 3, 3, "a"}, {"precision", 1, 2, "a"}, {"recall", 2.0 / 3, 3, "a"}, {"f1", 0.8, 3, "a"},
			{"support", 0, 3, "b"}, {"precision", 0, 1, "b"}, {"recall", 0, 0, "b"}, {"f1", 0, 3, "b"},
			{"macro_precision", 0.5, 3, ""}, {"macro_recall", 1.0 / 3, 3, ""}, {"macro_f1", 0.4, 3, ""},
			// errors -2.5 (label 12.5) and 1 (label 2)
			{"mae", 3.5 / 2, 2, ""},
			{"rmse", math.Sqrt((6.25 + 1) / 2), 2, ""},
			{"mape", (2.5/12.5 + 1.0/2) / 2, 2, ""},
			{"r2", 1 - 7.25/(2*5.25*5.25), 2, ""},
		}},
		{"shadow", "shadow", w, []metric{
			{"predictions", 3, 3, ""},
			{"labeled", 3, 3, ""},
			{"label_coverage", 1, 3, ""},
			{"accuracy", 2.0 / 3, 3, ""},
			// labels a, a, a; predictions b, a, a
			{"support", 3, 3, "a"}, {"precision", 1, 2, "a"}, {"recall", 2.0 / 3, 3, "a"}, {"f1", 0.8, 3, "a"},
			{"support", 0, 3, "b"}, {"precision", 0, 1, "b"}, {"recall", 0, 0, "b"}, {"f1", 0, 3, "b"},
			{"macro_precision", 0.5, 3, ""}, {"macro_recall", 1.0 / 3, 3, ""}, {"macro_f1", 0.4, 3, ""},
			// r1: only production right; r2: only shadow right; r3: both.
			// Exact McNemar: p = min(1, 2·P(X ≤ 1 | n = 2, 1/2)) = 1.
			{"mcnemar_production_only", 1, 3, ""}, {"mcnemar_variant_only", 1, 3, ""},
			{"mcnemar_statistic", 1, 3, ""}, {"mcnemar_p_value", 1, 3, ""},
		}},
		{"empty window", "production", w.Add(-time.Hour), []metric{
			{"predictions", 0, 0, ""},
			{"labeled", 0, 0, ""},
		}},
		{"next window, one wrong label", "production", end, []metric{
			{"predictions", 1, 1, ""},
			{"labeled", 1, 1, ""},
			{"label_coverage", 1, 1, ""},
			{"accuracy", 0, 1, ""},
			{"support", 0, 1, "a"}, {"precision", 0, 1, "a"}, {"recall", 0, 0, "a"}, {"f1", 0, 1, "a"},
			{"support", 1, 1, "b"}, {"precision", 0, 0, "b"}, {"recall", 0, 1, "b"}, {"f1", 0, 1, "b"},
			{"macro_precision", 0, 1, ""}, {"macro_recall", 0, 1, ""}, {"macro_f1", 0, 1, ""},
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
					Metric: m.name, Feature: m.class, Value: m.value, SampleCount: m.n})
			}
			if !sameMetrics(got, want) {
				t.Errorf("metrics differ")
				for _, m := range got {
					t.Logf(" got  %s %s = %v over %d", m.Metric, m.Feature, m.Value, m.SampleCount)
				}
				for _, m := range want {
					t.Logf(" want %s %s = %v over %d", m.Metric, m.Feature, m.Value, m.SampleCount)
				}
			}
		})
	}
}

// sameMetrics compares metric windows, values to 1e-15 relative (the
// expected values are computed in another order).
func sameMetrics(got, want []schemas.MetricWindow) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if math.Abs(g.Value-w.Value) > 1e-15*math.Max(1, math.Abs(w.Value)) {
			return false
		}
		g.Value = w.Value
		if !reflect.DeepEqual(g, w) {
			return false
		}
	}
	return true
}

// Scored predictions: Compute gives exactly the metrics of a perf.State
// fed the same rows (whose definitions are checked against scikit-learn in
// package perf), although ClickHouse hands the rows over grouped by value
// with a count, and duplicates, replays and unlabelled rows are mixed in.
func TestComputeScoresMatchState(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	w := baseTime()
	r := rand.New(rand.NewPCG(3, 4))
	want, _ := perf.New(perf.Options{})
	var pr, lr []store.Row
	for i := range 400 {
		req := fmt.Sprintf("q%d", i)
		churn := r.Float64() < 0.3
		// Two decimals: many rows share a score, so groups have counts > 1.
		score := math.Round(100*math.Min(math.Max(0.3+0.4*b2f(churn)+0.25*r.NormFloat64(), 0), 1)) / 100
		class := "stay"
		if score >= 0.5 {
			class = "churn"
		}
		truth := "stay"
		if churn {
			truth = "churn"
		}
		at := w.Add(time.Duration(r.IntN(300_000)) * time.Millisecond)
		e := inference("e"+req, req, "production", at, &class, nil)
		e.Prediction.Score = &score
		pr = append(pr, PredictionRow(e))
		if i%5 == 0 {
			pr = append(pr, PredictionRow(e)) // replayed
		}
		if i%9 == 4 {
			want.Add(e.Prediction, nil, nil) // never labelled
			continue
		}
		lr = append(lr, LabelRow(label(req, at.Add(time.Minute), &truth, nil)))
		want.Add(e.Prediction, &truth, nil)
	}
	if err := st.Insert(ctx, "predictions", "", pr); err != nil {
		t.Fatal(err)
	}
	if err := st.Insert(ctx, "labels", "", lr); err != nil {
		t.Fatal(err)
	}
	k := window.Key{Family: schemas.FamilyPerformance, ModelID: "m", ModelVersion: "v1", Variant: "production", Start: w, End: w.Add(5 * time.Minute)}
	got, err := Computer{Store: st}.Compute(ctx, window.Final{Key: k})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]schemas.MetricWindow{}
	for _, m := range got {
		byName[m.Metric+"/"+m.Feature] = m
	}
	if want.Positive("") != "churn" {
		t.Fatalf("positive class %q, want churn (predicted with the high scores)", want.Positive(""))
	}
	ms := want.Metrics("")
	names := map[string]bool{}
	for _, m := range ms {
		names[m.Name] = true
		g, ok := byName[m.Name+"/"+m.Class]
		if !ok || math.Abs(g.Value-m.Value) > 1e-12*math.Max(1, math.Abs(m.Value)) || g.SampleCount != m.Count {
			t.Errorf("%s %s = %v over %d, state %v over %d", m.Name, m.Class, g.Value, g.SampleCount, m.Value, m.Count)
		}
		if m.Name == perf.MetricROCAUC || m.Name == perf.MetricPRAUC {
			if e := byName[m.Name+"_error/"]; math.Abs(e.Value-m.Error) > 1e-15 {
				t.Errorf("%s_error = %v, state %v", m.Name, e.Value, m.Error)
			}
		}
	}
	for _, n := range []string{"roc_auc", "pr_auc", "log_loss", "brier", "ece", "macro_f1"} {
		if !names[n] {
			t.Errorf("no %s", n)
		}
	}
	if len(got) != len(ms)+2 {
		t.Errorf("%d metrics, want the state's %d and two error bounds", len(got), len(ms))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestComputeMcNemar checks the paired test of a canary against production
// when they differ: production right on all twelve labelled requests, the
// canary wrong on ten of them. Exact test: p = 2·P(X ≤ 0 | n = 10) = 2/1024.
// Production's predictions carry another model version and event times just
// outside the canary's window; they pair by request_id.
func TestComputeMcNemar(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	w := baseTime()
	var pr, lr []store.Row
	for i := range 12 {
		id := fmt.Sprintf("r%d", i)
		canary := "a"
		if i < 10 {
			canary = "b"
		}
		c := inference("c"+id, id, "canary", w.Add(time.Duration(i)*time.Second), str(canary), nil)
		p := inference("p"+id, id, "production", w.Add(-time.Second), str("a"), nil)
		p.ModelVersion = "v0"
		pr = append(pr, PredictionRow(c), PredictionRow(p))
		lr = append(lr, LabelRow(label(id, w.Add(time.Hour), str("a"), nil)))
	}
	// Unlabelled and production-less requests are not paired.
	pr = append(pr, PredictionRow(inference("cx", "rx", "canary", w, str("a"), nil)))
	lr = append(lr, LabelRow(label("ry", w, str("a"), nil)))
	pr = append(pr, PredictionRow(inference("cy", "ry", "canary", w, str("b"), nil)))
	if err := st.Insert(ctx, "predictions", "", pr); err != nil {
		t.Fatal(err)
	}
	if err := st.Insert(ctx, "labels", "", lr); err != nil {
		t.Fatal(err)
	}
	k := window.Key{Family: schemas.FamilyPerformance, ModelID: "m", ModelVersion: "v1", Variant: "canary", Start: w, End: w.Add(5 * time.Minute)}
	got, err := Computer{Store: st}.Compute(ctx, window.Final{Key: k})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{MetricMcNemarProductionOnly: 10, MetricMcNemarVariantOnly: 0, MetricMcNemarStatistic: 0, MetricMcNemarPValue: 2.0 / 1024}
	for _, m := range got {
		v, ok := want[m.Metric]
		if !ok {
			continue
		}
		if m.Value != v || m.SampleCount != 12 {
			t.Errorf("%s = %v over %d, want %v over 12", m.Metric, m.Value, m.SampleCount, v)
		}
		delete(want, m.Metric)
	}
	if len(want) > 0 {
		t.Errorf("missing metrics %v", want)
	}
	// Production itself is not paired with anything.
	k.Variant, k.ModelVersion = "production", "v0"
	k.Start = w.Add(-5 * time.Minute)
	k.End = w
	got, err = Computer{Store: st}.Compute(ctx, window.Final{Key: k})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		if strings.HasPrefix(m.Metric, "mcnemar") {
			t.Errorf("production window has %s", m.Metric)
		}
	}
}
