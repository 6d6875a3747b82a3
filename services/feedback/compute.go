package feedback

import (
	"context"
	"fmt"
	"time"

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
		store.Quote(f.Key.ModelID), store.Quote(f.Key.ModelVersion), store.Quote(f.Key.Variant), timeLit(f.Key.Start), timeLit(f.Key.End))
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
	return out, nil
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

func timeLit(t time.Time) string {
	return "toDateTime64('" + t.UTC().Format("2006-01-02 15:04:05.000") + "', 3, 'UTC')"
}
