package avro

import (
	"errors"
	"math"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/driftline/driftline/services/normalize"
)

// formats is how the adapter builds this format from a source's avro
// section (see services/normalize/formats).
var formats = map[string]normalize.FormatFactory{
	normalize.FormatAvro: func(n *yaml.Node) (normalize.Format, error) {
		var cfg Config
		if err := normalize.DecodeSection(n, &cfg); err != nil {
			return nil, err
		}
		return New(cfg)
	},
}

// number reads a feature the Mapping made numeric (it may keep longs as
// int64 or widen them).
func number(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

// TestMapping runs the samples through a mapping file, as the adapter does:
// both producer versions map, the field v1 lacks takes the mapping's
// default, and a mapping that requires the field v2 removed rejects v2's
// records as missing_field.
func TestMapping(t *testing.T) {
	const file = `
sources:
  churn:
    format: avro
    avro:
      schema_files: [testdata/churn_scored_v1.avsc, testdata/churn_scored_v2.avsc]
      registry: {urls: ["http://127.0.0.1:1"], timeout: 2s}
    mapping:
      timestamp: ts
      prediction: {score: score, class: predicted_class}
      latency_ms: {path: latency_ms, default: 0}
      segments:
        fields:
          tier: {path: tier, default: standard}
          region: region
  churn_micros:
    format: avro
    avro:
      schema_files: [testdata/churn_scored_v1.avsc, testdata/churn_scored_v2.avsc]
    mapping:
      timestamp: ts
      features:
        from: features
        fields:
          server_latency_micros: {path: latency_micros, required: true}
`
	sources, err := normalize.Load([]byte(file), normalize.SourcesOptions{Formats: formats})
	if err != nil {
		t.Fatal(err)
	}
	s := samples(t)
	one := func(source, sample string) *normalize.Event {
		t.Helper()
		evs, err := sources.Lookup(source).Decode(s[sample], "")
		if err != nil {
			t.Fatalf("%s %s: %v", source, sample, err)
		}
		if len(evs) != 1 || evs[0].Inference == nil {
			t.Fatalf("%s %s: %+v", source, sample, evs)
		}
		return &evs[0]
	}

	v1 := one("churn", "v1_soe").Inference
	if v1.RequestID != "req-000042" || v1.ModelID != "churn-model" || !v1.EventTime.Equal(t0) {
		t.Errorf("v1: %+v", v1)
	}
	if v1.Segments["tier"] != "standard" || v1.Segments["region"] != "EU" || v1.LatencyMS != 0 {
		t.Errorf("v1: tier %q region %q latency %v; want the tier default, EU, the latency default", v1.Segments["tier"], v1.Segments["region"], v1.LatencyMS)
	}
	if v1.Prediction.Score == nil || *v1.Prediction.Score != 0.8125 || v1.Prediction.Class == nil || *v1.Prediction.Class != "churn" {
		t.Errorf("v1 prediction: %+v", v1.Prediction)
	}
	if number(v1.Features["tenure_months"]) != 27 || v1.Features["contract"] != "month-to-month" || len(v1.Features) != 6 {
		t.Errorf("v1 features: %#v", v1.Features)
	}

	v2 := one("churn", "v2_soe").Inference
	if v2.Segments["tier"] != "gold" || v2.LatencyMS != 18.25 || v2.Prediction.Class != nil {
		t.Errorf("v2: tier %q latency %v class %v", v2.Segments["tier"], v2.LatencyMS, v2.Prediction.Class)
	}

	if got := one("churn_micros", "v1_soe").Inference.Features["server_latency_micros"]; number(got) != 18250 {
		t.Errorf("v1 latency_micros: %#v", got)
	}
	_, err = sources.Lookup("churn_micros").Decode(s["v2_soe"], "")
	var fail *normalize.Failure
	if !errors.As(err, &fail) || fail.Class != normalize.ClassMissingField {
		t.Errorf("v2 through a mapping requiring latency_micros: got %v, want missing_field", err)
	}
}
