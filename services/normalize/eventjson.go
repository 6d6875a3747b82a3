package normalize

import (
	"bytes"
	"encoding/json"
	"time"
)

// marshal is json.Marshal without HTML escaping: the output is for people
// and tools, not web pages.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// MarshalJSON renders an event as `driftline adapt` prints it: the
// canonical fields with the Avro schemas' names, times in RFC 3339 UTC,
// and "kind" saying which event it is.
func (e Event) MarshalJSON() ([]byte, error) {
	if l := e.Label; l != nil {
		return marshal(struct {
			Kind      string   `json:"kind"`
			RequestID string   `json:"request_id"`
			Class     *string  `json:"class,omitempty"`
			Value     *float64 `json:"value,omitempty"`
			LabelTime string   `json:"label_time"`
			Source    string   `json:"source"`
		}{KindLabel, l.RequestID, l.Class, l.Value, l.LabelTime.UTC().Format(time.RFC3339Nano), l.Source})
	}
	i := e.Inference
	if i == nil {
		return []byte("null"), nil
	}
	type prediction struct {
		Score         *float64           `json:"score,omitempty"`
		Class         *string            `json:"class,omitempty"`
		Value         *float64           `json:"value,omitempty"`
		Probabilities map[string]float64 `json:"probabilities,omitempty"`
	}
	type cost struct {
		InputTokens  int64   `json:"input_tokens"`
		OutputTokens int64   `json:"output_tokens"`
		CostUSD      float64 `json:"cost_usd"`
	}
	var c *cost
	if i.Cost != nil {
		c = &cost{i.Cost.InputTokens, i.Cost.OutputTokens, i.Cost.CostUSD}
	}
	p := i.Prediction
	return marshal(struct {
		Kind          string             `json:"kind"`
		EventID       string             `json:"event_id"`
		RequestID     string             `json:"request_id"`
		ModelID       string             `json:"model_id"`
		ModelVersion  string             `json:"model_version"`
		Variant       string             `json:"variant"`
		EventTime     string             `json:"event_time"`
		Features      map[string]any     `json:"features"`
		Prediction    prediction         `json:"prediction"`
		LatencyMS     float64            `json:"latency_ms"`
		Cost          *cost              `json:"cost,omitempty"`
		Segments      map[string]string  `json:"segments,omitempty"`
		Attributions  map[string]float64 `json:"attributions,omitempty"`
		Source        string             `json:"source"`
		SchemaVersion int32              `json:"schema_version"`
	}{KindInference, i.EventID, i.RequestID, i.ModelID, i.ModelVersion, i.Variant, i.EventTime.UTC().Format(time.RFC3339Nano),
		i.Features, prediction{p.Score, p.Class, p.Value, p.Probabilities}, i.LatencyMS, c, i.Segments, i.Attributions,
		i.Source, i.SchemaVersion})
}
