package protobuf

import (
	"errors"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/driftline/driftline/services/normalize"
)

// formats is how the adapter builds this format from a source's protobuf
// section (see services/normalize/formats).
var formats = map[string]normalize.FormatFactory{
	normalize.FormatProtobuf: func(n *yaml.Node) (normalize.Format, error) {
		var cfg Config
		if err := normalize.DecodeSection(n, &cfg); err != nil {
			return nil, err
		}
		return New(cfg)
	},
}

// TestMapping runs Driftline's own Protobuf events and the user's message
// through mapping files, as the adapter does. The canonical events need no
// mapping: their time fields (event_time, label_time where the default
// mapping reads "timestamp") come from the format's DefaultPaths.
func TestMapping(t *testing.T) {
	const file = `
sources:
  canonical:
    format: protobuf
    protobuf:
      import_paths: [../../../proto]
      files: [driftline/v1/events.proto]
      message: driftline.v1.InferenceEvent
  labels:
    kind: label
    format: protobuf
    protobuf:
      import_paths: [../../../proto]
      files: [driftline/v1/events.proto]
      message: driftline.v1.LabelEvent
  churn_v1:
    format: protobuf
    protobuf: {import_paths: [testdata/v1], files: [acme/ml/scored.proto], message: acme.ml.ChurnScored}
    mapping: &churn
      model_id: model.name
      model_version: model.version
      timestamp: ts
      features:
        from: numeric
        fields:
          contract: categorical.contract
          server_latency_micros: {path: latency_micros, required: true}
      prediction: {score: score, class: predicted_class}
      segments:
        fields:
          region: region
          tier: {path: tier, default: standard}
  churn_v2:
    format: protobuf
    protobuf: {import_paths: [testdata/v2], files: [acme/ml/scored.proto], message: acme.ml.ChurnScored}
    mapping: *churn
`
	sources, err := normalize.Load([]byte(file), normalize.SourcesOptions{Formats: formats})
	if err != nil {
		t.Fatal(err)
	}
	s := samples(t)
	decode := func(source, sample string) (normalize.Event, error) {
		evs, err := sources.Lookup(source).Decode(s[sample], "application/x-protobuf")
		if err != nil {
			return normalize.Event{}, err
		}
		if len(evs) != 1 {
			t.Fatalf("%s %s: %d events", source, sample, len(evs))
		}
		return evs[0], nil
	}

	ev, err := decode("canonical", "inference")
	if err != nil {
		t.Fatal(err)
	}
	inf := ev.Inference
	if inf.RequestID != "req-000042" || inf.EventID != "evt-1" || inf.ModelID != "churn-model" || inf.ModelVersion != "2026.11.1" ||
		inf.Variant != "shadow" || !inf.EventTime.Equal(t0) || inf.LatencyMS != 18.25 || inf.Segments["region"] != "EU" {
		t.Errorf("inference: %+v", inf)
	}
	if inf.Features["income"] != 52000.5 || inf.Features["contract"] != "month-to-month" || inf.Features["has_partner"] != false ||
		inf.Features["zero"] != 0.0 || inf.Features["missing"] != nil || len(inf.Features) != 6 {
		t.Errorf("features: %#v", inf.Features)
	}
	if p := inf.Prediction; p.Score == nil || *p.Score != 0.8125 || p.Class == nil || *p.Class != "churn" || p.Probabilities["stay"] != 0.1875 {
		t.Errorf("prediction: %+v", p)
	}
	if c := inf.Cost; c == nil || c.InputTokens != 120 || c.OutputTokens != 8 || c.CostUSD != 0.00042 {
		t.Errorf("cost: %+v", c)
	}

	ev, err = decode("labels", "label")
	if err != nil {
		t.Fatal(err)
	}
	if l := ev.Label; l == nil || l.RequestID != "req-000042" || l.Class == nil || *l.Class != "churn" || !l.LabelTime.Equal(t0.Add(36*time.Hour)) {
		t.Errorf("label: %+v", ev.Label)
	}

	// The user's message, each version with its own descriptor and the
	// same mapping: v1 has no tier (the default applies), v2 no
	// latency_micros, which this mapping requires.
	ev, err = decode("churn_v1", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if inf := ev.Inference; inf.ModelID != "churn-model" || inf.Segments["tier"] != "standard" || inf.Segments["region"] != "EU" ||
		len(inf.Features) != 20 || inf.Features["contract"] != "month-to-month" {
		t.Errorf("v1: %+v", inf)
	}
	_, err = decode("churn_v2", "v2")
	var fail *normalize.Failure
	if !errors.As(err, &fail) || fail.Class != normalize.ClassMissingField {
		t.Errorf("v2 with a mapping requiring latency_micros: got %v, want missing_field", err)
	}
}
