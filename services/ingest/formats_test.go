package ingest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/normalize"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"gopkg.in/yaml.v3"
)

const mappings = `
sources:
  crm:
    dedup: {horizon: 1h, max_entries: 100}
    mapping:
      event_id: hdr.id
      request_id: req.id
      model_id: {path: hdr.model, default: crm-model}
      timestamp: {path: hdr.at, type: epoch_seconds}
      features: {from: req.f}
      prediction: {score: resp.p}
  feed:
    format: csv
    csv: {columns: [id, model, at, x]}
    mapping:
      request_id: id
      model_id: model
      timestamp: at
      features:
        fields:
          x: {path: x, type: number}
  feedlabels:
    kind: label
    format: csv
    csv: {columns: [id, y, at]}
    mapping:
      request_id: id
      label: {path: y, type: number}
      timestamp: at
`

// Mapped sources in every format, chosen by config or content-type (the
// mapping is the source's whatever the format); a
// record with several documents gives several events or one dead letter;
// duplicates within the horizon are dead-lettered at stage dedup, but the
// same record handled again (a redelivery) is not a duplicate of itself.
func TestHandlerMappedSources(t *testing.T) {
	e := newEnv(t, "crm", "feed", "feedlabels")
	srcs, err := normalize.Load([]byte(mappings), normalize.SourcesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crm := func(id, req string) string {
		return fmt.Sprintf(`{"hdr":{"id":%q,"at":1795428000},"req":{"id":%q,"f":{"a":1,"b":"x"}},"resp":{"p":"0.5"}}`, id, req)
	}
	ct := func(v string) map[string]string { return map[string]string{"Content-Type": v} }
	input := []raw{
		{"crm", 0, crm("e1", "r1"), nil, ""},
		{"crm", 0, crm("e1", "r1"), nil, normalize.ClassDuplicate},
		{"crm", 1, crm("e1", "r9"), nil, normalize.ClassDuplicate}, // another partition, same instance
		{"crm", 0, crm("e2", "r2") + "\n" + crm("e3", "r3"), ct("application/x-ndjson"), ""},
		{"crm", 0, "[" + crm("e4", "r4") + "," + crm("e4", "r4") + "]", nil, normalize.ClassDuplicate},
		{"crm", 2, `<x/>`, ct("application/xml; charset=utf-8"), normalize.ClassMissingField},
		{"crm", 2, "a,b", ct("text/csv"), normalize.ClassUnknownSchema},
		{"feed", 0, "r5,m,1795428000,1.5", nil, ""},
		{"feed", 0, "r6,m,1795428000,1.5\nr7,m,1795428001,2.5", nil, ""},
		{"feed", 1, "r8,m,1795428000", nil, normalize.ClassMalformed},
		{"feed", 1, "r8,m,1795428000,abc", nil, normalize.ClassWrongType},
		{"feed", 2, `{"id":"r10","model":"m","at":1795428000,"x":"3"}`, ct("application/json"), ""},
		{"feedlabels", 0, "r5,1,1795428600", nil, ""},
	}
	e.produce(t, input)
	polls := e.poll(t, len(input), "crm", "feed", "feedlabels")
	h := newHandler(e, nil)
	h.Sources = srcs
	run := func() {
		t.Helper()
		for _, fs := range polls {
			if err := h.Handle(e.ctx, fs); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := h.Flush(e.ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	run()

	var reqs []string
	for _, r := range e.readAll(t, topics.Inferences()) {
		var ev schemas.InferenceEvent
		if err := schemas.Unmarshal(r.Value, &ev); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, ev.RequestID)
		if ev.RequestID == "r1" && (ev.EventID != "e1" || ev.ModelID != "crm-model" || *ev.Prediction.Score != 0.5 || ev.Features["b"] != "x") {
			t.Errorf("r1 mapped as %+v", ev)
		}
		if ev.RequestID == "r7" && (ev.Features["x"] != 2.5 || ev.Source != "feed") {
			t.Errorf("r7 mapped as %+v", ev)
		}
	}
	slices.Sort(reqs)
	if want := []string{"r1", "r10", "r2", "r3", "r5", "r6", "r7"}; !slices.Equal(reqs, want) {
		t.Errorf("inferences for %v, want %v", reqs, want)
	}
	labels := e.readAll(t, topics.Labels())
	if len(labels) != 1 {
		t.Fatalf("%d labels, want 1", len(labels))
	}
	var l schemas.LabelEvent
	if err := schemas.Unmarshal(labels[0].Value, &l); err != nil || l.Value == nil || *l.Value != 1 {
		t.Errorf("label %+v (%v), want value 1", l, err)
	}

	dls := e.readAll(t, topics.DeadLetter())
	var classes []string
	for _, r := range dls {
		var dl schemas.DeadLetter
		if err := schemas.Unmarshal(r.Value, &dl); err != nil {
			t.Fatal(err)
		}
		classes = append(classes, dl.ErrorClass)
		wantStage := normalize.StageDecode
		if dl.ErrorClass == normalize.ClassDuplicate {
			wantStage = normalize.StageDedup
			if !strings.Contains(dl.ErrorMessage, `"e1"`) && !strings.Contains(dl.ErrorMessage, `"e4"`) {
				t.Errorf("duplicate message %q names no id", dl.ErrorMessage)
			}
		}
		if dl.Stage != wantStage || len(dl.Original) == 0 {
			t.Errorf("dead letter %+v: want stage %s and the original bytes", dl, wantStage)
		}
	}
	var want []string
	for _, in := range input {
		if in.class != "" {
			want = append(want, in.class)
		}
	}
	slices.Sort(classes)
	slices.Sort(want)
	if !slices.Equal(classes, want) {
		t.Errorf("dead-letter classes %v, want %v", classes, want)
	}
	if n := testutil.ToFloat64(h.Metrics.DeadLetter.WithLabelValues("crm", normalize.ClassDuplicate)); n != 3 {
		t.Errorf("crm duplicates counted %v, want 3", n)
	}

	// The same records again, as after a rebalance: the records first
	// seen at these positions are not duplicates of themselves, and the
	// duplicates stay duplicates.
	run()
	if n := len(e.readAll(t, topics.Inferences())); n != 2*7 {
		t.Errorf("%d inferences after the redelivery, want %d", n, 2*7)
	}
	if n := len(e.readAll(t, topics.DeadLetter())); n != 2*len(want) {
		t.Errorf("%d dead letters after the redelivery, want %d", n, 2*len(want))
	}
}

// A record's events are produced together: one bad document in a batch
// dead-letters the whole record, and nothing of it is produced.
func TestHandlerBatchIsWhole(t *testing.T) {
	e := newEnv(t, "app")
	good := inference("b1", "production")
	input := []raw{{"app", 0, "[" + good + `,{"request_id":"b2"}]`, nil, normalize.ClassMissingField}}
	e.produce(t, input)
	h := newHandler(e, nil)
	for _, fs := range e.poll(t, 1, "app") {
		if err := h.Handle(e.ctx, fs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Flush(e.ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.readAll(t, topics.Inferences())); n != 0 {
		t.Errorf("%d inferences from a rejected batch", n)
	}
	rows := e.deadRows(t, "")
	if len(rows) != 1 || rows[0].class != normalize.ClassMissingField || !strings.Contains(rows[0].message, "document 2") {
		t.Errorf("dead letters %+v, want one missing_field naming document 2", rows)
	}
}

// outage is a format whose dependency is down: its errors are nobody's
// record's fault.
type outage struct{}

func (outage) Documents([]byte) ([]normalize.Document, error) {
	return nil, errors.New("schema registry: connection refused")
}

// An error that is not a *normalize.Failure stops the handler instead of
// dead-lettering the record, so the record is read again once the
// dependency is back.
func TestHandlerOutageIsNotDeadLettered(t *testing.T) {
	e := newEnv(t, "bin")
	srcs, err := normalize.Load([]byte("sources:\n  bin:\n    format: avro\n    avro: {}\n"), normalize.SourcesOptions{
		Formats: map[string]normalize.FormatFactory{normalize.FormatAvro: func(*yaml.Node) (normalize.Format, error) { return outage{}, nil }}})
	if err != nil {
		t.Fatal(err)
	}
	e.produce(t, []raw{{"bin", 0, "\x00\x00\x00\x00\x01x", nil, ""}})
	h := newHandler(e, nil)
	h.Sources = srcs
	var herr error
	for _, fs := range e.poll(t, 1, "bin") {
		if err := h.Handle(e.ctx, fs); err != nil {
			herr = err
		}
	}
	if herr == nil || !strings.Contains(herr.Error(), "connection refused") {
		t.Fatalf("Handle = %v, want the outage", herr)
	}
	if _, err := h.Flush(e.ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.readAll(t, topics.DeadLetter())); n != 0 {
		t.Errorf("%d dead letters for an outage", n)
	}
}
