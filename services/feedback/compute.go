package feedback

import (
	"context"
	"fmt"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/perf"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/window"
)

// Computer joins a finished window's predictions with their labels in
// ClickHouse.
type Computer struct {
	Store store.Store
}

// Compute implements aggregate.Computer. Predictions are deduplicated by
// event_id and labels by request_id (the newest label wins), so records
// that a replay wrote twice are counted once. ClickHouse joins and groups
// the window's rows by value; the metrics come from a perf.State of them,
// the same mergeable state and definitions as driftline perf. Per-class
// metrics carry the class in MetricWindow.Feature; roc_auc_error and
// pr_auc_error bound the histogram error of roc_auc and pr_auc.
func (c Computer) Compute(ctx context.Context, f window.Final) ([]schemas.MetricWindow, error) {
	q := fmt.Sprintf(`
SELECT
    p.prediction_class, p.prediction_score, p.prediction_value,
    l.request_id != '' AS labeled, l.label_class, l.label_value,
    count() AS n
FROM
(
    SELECT request_id, any(prediction_class) AS prediction_class, any(prediction_score) AS prediction_score,
           any(prediction_value) AS prediction_value
    FROM predictions
    WHERE model_id = %[1]s AND model_version = %[2]s AND variant = %[3]s
      AND event_time >= %[4]s AND event_time < %[5]s
    GROUP BY event_id, request_id
) AS p
LEFT JOIN
(
    SELECT request_id, argMax(label_class, label_time) AS label_class, argMax(label_value, label_time) AS label_value
    FROM labels
    WHERE request_id IN (
        SELECT request_id FROM predictions
        WHERE model_id = %[1]s AND event_time >= %[4]s AND event_time < %[5]s)
    GROUP BY request_id
) AS l ON p.request_id = l.request_id
GROUP BY p.prediction_class, p.prediction_score, p.prediction_value, labeled, l.label_class, l.label_value`,
		store.Quote(f.Key.ModelID), store.Quote(f.Key.ModelVersion), store.Quote(f.Key.Variant), store.TimeLiteral(f.Key.Start), store.TimeLiteral(f.Key.End))
	res, err := c.Store.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("join labels: %w", err)
	}
	st, err := stateOf(res)
	if err != nil {
		return nil, fmt.Errorf("join labels: %w", err)
	}
	base := schemas.MetricWindow{ModelID: f.Key.ModelID, ModelVersion: f.Key.ModelVersion, Variant: f.Key.Variant,
		Segment: f.Key.Segment, WindowStart: f.Key.Start, WindowEnd: f.Key.End, Family: schemas.FamilyPerformance}
	var out []schemas.MetricWindow
	for _, m := range st.Metrics("") {
		mw := base
		mw.Metric, mw.Feature, mw.Value, mw.SampleCount = m.Name, m.Class, m.Value, m.Count
		out = append(out, mw)
		if m.Name == perf.MetricROCAUC || m.Name == perf.MetricPRAUC {
			mw.Metric, mw.Value = m.Name+"_error", m.Error
			out = append(out, mw)
		}
	}
	if f.Key.Variant != schemas.VariantProduction {
		paired, err := c.pairedWithProduction(ctx, f.Key)
		if err != nil {
			return nil, err
		}
		if n := paired.Both + paired.OnlyA + paired.OnlyB + paired.Neither; n > 0 {
			r := paired.McNemar()
			for _, m := range []struct {
				name string
				v    float64
			}{
				{MetricMcNemarProductionOnly, float64(r.B)},
				{MetricMcNemarVariantOnly, float64(r.C)},
				{MetricMcNemarStatistic, r.Statistic},
				{MetricMcNemarPValue, r.PValue},
			} {
				mw := base
				mw.Metric, mw.Value, mw.SampleCount = m.name, m.v, n
				out = append(out, mw)
			}
		}
	}
	return out, nil
}

// McNemar's test of a shadow (canary, challenger) variant against
// production on the requests both classified and that have a class label:
// whether the two differ in accuracy beyond chance.
const (
	MetricMcNemarProductionOnly = "mcnemar_production_only" // requests only production got right (b)
	MetricMcNemarVariantOnly    = "mcnemar_variant_only"    // requests only this variant got right (c)
	MetricMcNemarStatistic      = "mcnemar_statistic"
	MetricMcNemarPValue         = "mcnemar_p_value"
)

// pairedWithProduction counts, over the window's labelled requests of a
// non-production variant, which of it and production classified them
// right. Production's prediction of a request may carry another model
// version and a slightly different event time, so it is found by
// request_id alone.
func (c Computer) pairedWithProduction(ctx context.Context, k window.Key) (perf.Paired, error) {
	q := fmt.Sprintf(`
WITH v AS (
    SELECT request_id, any(prediction_class) AS class
    FROM predictions
    WHERE model_id = %[1]s AND model_version = %[2]s AND variant = %[3]s
      AND event_time >= %[4]s AND event_time < %[5]s AND prediction_class IS NOT NULL
    GROUP BY request_id
)
SELECT p.class = l.class AS production_right, v.class = l.class AS variant_right, count() AS n
FROM v
INNER JOIN
(
    SELECT request_id, any(prediction_class) AS class
    FROM predictions
    WHERE model_id = %[1]s AND variant = %[6]s AND prediction_class IS NOT NULL
      AND request_id IN (SELECT request_id FROM v)
    GROUP BY request_id
) AS p ON v.request_id = p.request_id
INNER JOIN
(
    SELECT request_id, argMax(label_class, label_time) AS class
    FROM labels
    WHERE request_id IN (SELECT request_id FROM v)
    GROUP BY request_id
    HAVING class IS NOT NULL
) AS l ON v.request_id = l.request_id
GROUP BY production_right, variant_right`,
		store.Quote(k.ModelID), store.Quote(k.ModelVersion), store.Quote(k.Variant), store.TimeLiteral(k.Start), store.TimeLiteral(k.End),
		store.Quote(schemas.VariantProduction))
	res, err := c.Store.Query(ctx, q)
	if err != nil {
		return perf.Paired{}, fmt.Errorf("pair %s with production: %w", k.Variant, err)
	}
	var paired perf.Paired
	for _, r := range res.Rows {
		if len(r) != 3 {
			return perf.Paired{}, fmt.Errorf("pair with production: row of %d columns, want 3", len(r))
		}
		var vals [3]int64
		for i := range vals {
			if vals[i], err = store.Int(r[i]); err != nil {
				return perf.Paired{}, fmt.Errorf("pair with production: column %s: %w", res.Columns[i], err)
			}
		}
		for range vals[2] {
			paired.Add(vals[0] != 0, vals[1] != 0)
		}
	}
	return paired, nil
}

// stateOf adds the joined rows (grouped, with their count n) to a
// perf.State.
func stateOf(res *store.Result) (*perf.State, error) {
	const cols = 7
	st, err := perf.New(perf.Options{})
	if err != nil {
		return nil, err
	}
	if len(res.Columns) != cols {
		return nil, fmt.Errorf("want %d columns, got %d", cols, len(res.Columns))
	}
	for _, r := range res.Rows {
		if len(r) != cols {
			return nil, fmt.Errorf("row of %d columns, want %d", len(r), cols)
		}
		var p schemas.Prediction
		var labelClass *string
		var labelValue *float64
		var err error
		if p.Class, err = nullString(r[0]); err != nil {
			return nil, fmt.Errorf("prediction_class: %w", err)
		}
		if p.Score, err = nullFloat(r[1]); err != nil {
			return nil, fmt.Errorf("prediction_score: %w", err)
		}
		if p.Value, err = nullFloat(r[2]); err != nil {
			return nil, fmt.Errorf("prediction_value: %w", err)
		}
		labeled, err := store.Int(r[3])
		if err != nil {
			return nil, fmt.Errorf("labeled: %w", err)
		}
		if labeled != 0 {
			if labelClass, err = nullString(r[4]); err != nil {
				return nil, fmt.Errorf("label_class: %w", err)
			}
			if labelValue, err = nullFloat(r[5]); err != nil {
				return nil, fmt.Errorf("label_value: %w", err)
			}
		}
		n, err := store.Int(r[6])
		if err != nil {
			return nil, fmt.Errorf("n: %w", err)
		}
		for range n {
			st.Add(p, labelClass, labelValue)
		}
	}
	return st, nil
}

func nullString(v any) (*string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return &x, nil
	}
	return nil, fmt.Errorf("got %T, want a string", v)
}

func nullFloat(v any) (*float64, error) {
	if v == nil {
		return nil, nil
	}
	x, err := store.Float(v)
	if err != nil {
		return nil, err
	}
	return &x, nil
}
