package feedback

import (
	"context"
	"fmt"
	"time"

	"github.com/driftline/driftline/schemas"
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
// that a replay wrote twice are counted once.
func (c Computer) Compute(ctx context.Context, f window.Final) ([]schemas.MetricWindow, error) {
	q := fmt.Sprintf(`
SELECT
    count() AS predictions,
    countIf(l.request_id != '') AS labeled,
    countIf(l.request_id != '' AND l.label_class IS NOT NULL) AS classified,
    countIf(l.request_id != '' AND p.prediction_class IS NOT NULL AND p.prediction_class = l.label_class) AS correct,
    countIf(l.request_id != '' AND p.prediction_value IS NOT NULL AND l.label_value IS NOT NULL) AS valued,
    sumIf(abs(p.prediction_value - l.label_value), l.request_id != '' AND p.prediction_value IS NOT NULL AND l.label_value IS NOT NULL) AS abs_error
FROM
(
    SELECT request_id, any(prediction_class) AS prediction_class, any(prediction_value) AS prediction_value
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
) AS l ON p.request_id = l.request_id`,
		store.Quote(f.Key.ModelID), store.Quote(f.Key.ModelVersion), store.Quote(f.Key.Variant), timeLit(f.Key.Start), timeLit(f.Key.End))
	res, err := c.Store.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("join labels: %w", err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 6 {
		return nil, fmt.Errorf("join labels: want one row of 6 columns, got %d rows", len(res.Rows))
	}
	v := make([]float64, 6)
	for i, x := range res.Rows[0] {
		if v[i], err = store.Float(x); err != nil {
			return nil, fmt.Errorf("join labels: column %s: %w", res.Columns[i].Name, err)
		}
	}
	predictions, labeled, classified, correct, valued, absErr := v[0], v[1], v[2], v[3], v[4], v[5]
	base := schemas.MetricWindow{ModelID: f.Key.ModelID, ModelVersion: f.Key.ModelVersion, Variant: f.Key.Variant,
		Segment: f.Key.Segment, WindowStart: f.Key.Start, WindowEnd: f.Key.End, Family: schemas.FamilyPerformance}
	mk := func(name string, val, n float64) schemas.MetricWindow {
		m := base
		m.Metric, m.Value, m.SampleCount = name, val, int64(n)
		return m
	}
	out := []schemas.MetricWindow{mk("predictions", predictions, predictions), mk("labeled", labeled, predictions)}
	if predictions > 0 {
		out = append(out, mk("label_coverage", labeled/predictions, predictions))
	}
	// Accuracy is over the predictions with a class label; regression
	// labels (a value only) count towards the MAE instead.
	if classified > 0 {
		out = append(out, mk("accuracy", correct/classified, classified))
	}
	if valued > 0 {
		out = append(out, mk("mae", absErr/valued, valued))
	}
	return out, nil
}

func timeLit(t time.Time) string {
	return "toDateTime64('" + t.UTC().Format("2006-01-02 15:04:05.000") + "', 3, 'UTC')"
}
