package feedback

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/store/storetest"
)

// openStore opens a migrated chDB store for one test.
func openStore(t *testing.T) store.Store {
	st, _ := storetest.Open(t)
	return st
}

// baseTime is a window start a little in the past: the predictions and
// labels tables keep 90 days, so test rows must not be older than that.
func baseTime() time.Time {
	return time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
}

func str(s string) *string   { return &s }
func num(f float64) *float64 { return &f }

// count runs a query answering one number.
func count(t *testing.T, st store.Store, q string) int64 {
	t.Helper()
	res, err := st.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		t.Fatalf("%s: %d rows", q, len(res.Rows))
	}
	switch v := res.Rows[0][0].(type) {
	case uint64:
		return int64(v)
	case int64:
		return v
	}
	t.Fatalf("%s: got %T", q, res.Rows[0][0])
	return 0
}

// inference is an InferenceEvent of model m, version v1.
func inference(eventID, requestID, variant string, at time.Time, class *string, value *float64) *schemas.InferenceEvent {
	return &schemas.InferenceEvent{
		EventID: eventID, RequestID: requestID, ModelID: "m", ModelVersion: "v1", Variant: variant, EventTime: at,
		Features:   map[string]any{"x": 1.0},
		Prediction: schemas.Prediction{Class: class, Value: value}, LatencyMS: 3, Source: "test",
	}
}

func label(requestID string, at time.Time, class *string, value *float64) *schemas.LabelEvent {
	return &schemas.LabelEvent{RequestID: requestID, LabelTime: at, Class: class, Value: value, Source: "test"}
}

func TestPredictionRowAndLabelRow(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		got  store.Row
		want store.Row
	}{
		{"classifier prediction", PredictionRow(&schemas.InferenceEvent{EventID: "e", RequestID: "r", ModelID: "m", ModelVersion: "v", Variant: "shadow",
			EventTime: at, Prediction: schemas.Prediction{Class: str("a"), Score: num(0.7)}, LatencyMS: 4.5, Source: "s",
			Cost: &schemas.Cost{CostUSD: 0.25}, Segments: map[string]string{"region": "eu"}}),
			store.Row{"event_id": "e", "request_id": "r", "model_id": "m", "model_version": "v", "variant": "shadow", "event_time": at,
				"latency_ms": 4.5, "source": "s", "prediction_class": "a", "prediction_score": 0.7, "prediction_value": nil, "cost_usd": 0.25,
				"segments": map[string]string{"region": "eu"}}},
		{"regressor prediction", PredictionRow(&schemas.InferenceEvent{EventID: "e", RequestID: "r", ModelID: "m", ModelVersion: "v", Variant: "production",
			EventTime: at, Prediction: schemas.Prediction{Value: num(12.5)}}),
			store.Row{"event_id": "e", "request_id": "r", "model_id": "m", "model_version": "v", "variant": "production", "event_time": at,
				"latency_ms": 0.0, "source": "", "prediction_class": nil, "prediction_score": nil, "prediction_value": 12.5, "cost_usd": nil}},
		{"class label", LabelRow(label("r", at, str("a"), nil)),
			store.Row{"request_id": "r", "label_time": at, "source": "test", "label_class": "a", "label_value": nil}},
		{"value label", LabelRow(label("r", at, nil, num(-1))),
			store.Row{"request_id": "r", "label_time": at, "source": "test", "label_class": nil, "label_value": -1.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("row\n got %v\nwant %v", tt.got, tt.want)
			}
		})
	}
}
