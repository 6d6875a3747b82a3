package formats

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/services/normalize"
)

const mappings = `
sources:
  churn-avro:
    format: json          # JSON by default; Avro when the header says so
    avro:
      schema_files: [../avro/testdata/churn_scored_v1.avsc]
    mapping:
      timestamp: ts
      features: {from: features}
      segments: {fields: {region: region}}
      prediction: {class: predicted_class, score: score}
  events-proto:
    format: protobuf
    protobuf:
      files: [driftline/v1/events.proto]
      import_paths: [../../../proto]
      message: driftline.v1.InferenceEvent
    mapping:
      timestamp: event_time
`

// The Avro and Protobuf sections of a mapping file reach their packages'
// formats, chosen by format or content-type, and their documents go
// through the same mappings as every other format.
func TestBinaryFormats(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mappings.yaml")
	if err := os.WriteFile(path, []byte(mappings), 0o644); err != nil {
		t.Fatal(err)
	}
	// Paths in the file are relative to the working directory, as the
	// adapter's are.
	srcs, err := LoadFile(path, normalize.SourcesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	evs, err := srcs.Lookup("churn-avro").Decode(read("../avro/testdata/v1_soe.bin"), "application/vnd.apache.avro+binary")
	if err != nil || len(evs) != 1 {
		t.Fatalf("avro: %v, %d events", err, len(evs))
	}
	e := evs[0].Inference
	if e.RequestID != "req-000042" || e.ModelID != "churn-model" || e.Features["tenure_months"] != 27.0 ||
		e.Features["contract"] != "month-to-month" || e.Features["income"] != nil || e.Segments["region"] != "EU" ||
		*e.Prediction.Class != "churn" || *e.Prediction.Score != 0.8125 || e.EventTime.IsZero() {
		t.Errorf("avro event %+v", e)
	}
	if _, err := srcs.Lookup("churn-avro").Decode(read("../avro/testdata/v1_soe.bin"), ""); normalize.ClassOf(err) != normalize.ClassMalformed {
		t.Errorf("Avro bytes read as the source's JSON: %v, want malformed", err)
	}

	evs, err = srcs.Lookup("events-proto").Decode(read("../protobuf/testdata/inference_event.bin"), "")
	if err != nil || len(evs) != 1 {
		t.Fatalf("protobuf: %v, %d events", err, len(evs))
	}
	p := evs[0].Inference
	want := time.Date(2026, 11, 23, 14, 5, 17, 250e6, time.UTC)
	if p.EventID != "evt-1" || p.Variant != "shadow" || !p.EventTime.Equal(want) || p.Features["income"] != 52000.5 ||
		p.Features["tenure"] != 27.0 || p.Cost == nil || p.Cost.InputTokens != 120 || p.Prediction.Probabilities["stay"] != 0.1875 {
		t.Errorf("protobuf event %+v", p)
	}
	if _, err := srcs.Lookup("events-proto").Decode([]byte("\xff\xff\xff"), ""); normalize.ClassOf(err) == "internal" {
		t.Errorf("hostile protobuf bytes: unclassified %v", err)
	}
}

// A bad format section is a start-up error naming the source.
func TestBinaryFormatErrors(t *testing.T) {
	for _, y := range []string{
		"sources:\n  a:\n    avro: {schemaz: []}\n",
		"sources:\n  a:\n    format: protobuf\n    protobuf: {files: [nope.proto], message: x.Y}\n",
	} {
		_, err := normalize.Load([]byte(y), normalize.SourcesOptions{Formats: All()})
		if err == nil || !strings.Contains(err.Error(), `source "a"`) {
			t.Errorf("%q: err %v, want one naming the source", y, err)
		}
	}
}
