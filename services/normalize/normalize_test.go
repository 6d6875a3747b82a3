package normalize

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// decoder is a canonical source (no mapping file) of kind with a record
// limit.
type decoder struct {
	Source         string
	Kind           string
	MaxRecordBytes int
}

func (d decoder) src() *Source {
	kind := d.Kind
	if kind == "" {
		kind = KindInference
	}
	s, err := NewSource(d.Source, SourceConfig{Kind: kind, Limits: Limits{MaxRecordBytes: d.MaxRecordBytes}}, SourcesOptions{})
	if err != nil {
		panic(err)
	}
	return s
}

// Decode decodes a record that must hold one document.
func (d decoder) Decode(b []byte) (Event, error) {
	evs, err := d.src().Decode(b, "")
	if err != nil {
		return Event{}, err
	}
	if len(evs) != 1 {
		return Event{}, fmt.Errorf("%d events, want 1", len(evs))
	}
	return evs[0], nil
}

func TestDecodeInference(t *testing.T) {
	d := decoder{Source: "app", Kind: KindInference}
	ev, err := d.Decode([]byte(`{"request_id":"r1","model_id":"m","model_version":"v1","variant":"shadow",
		"timestamp":"2026-11-23T10:00:00.5Z","features":{"age":42,"plan":"pro","vip":true,"income":null},
		"prediction":{"class":"churn","score":"0.83","probabilities":{"churn":0.83,"stay":0.17}},
		"latency_ms":12.5,"segments":{"region":"eu","tier":3},"cost":{"input_tokens":10,"output_tokens":5,"cost_usd":0.002}}`))
	if err != nil {
		t.Fatal(err)
	}
	e := ev.Inference
	if e == nil || ev.Label != nil {
		t.Fatalf("got %+v, want an inference", ev)
	}
	want := time.Date(2026, 11, 23, 10, 0, 0, 5e8, time.UTC)
	switch {
	case e.RequestID != "r1" || e.ModelID != "m" || e.ModelVersion != "v1" || e.Variant != "shadow" || e.Source != "app":
		t.Errorf("ids: %+v", e)
	case !e.EventTime.Equal(want):
		t.Errorf("time %v, want %v", e.EventTime, want)
	case e.EventID != "r1/shadow":
		t.Errorf("default event id %q", e.EventID)
	case e.Features["age"] != 42.0 || e.Features["plan"] != "pro" || e.Features["vip"] != true || e.Features["income"] != nil:
		t.Errorf("features %#v", e.Features)
	case *e.Prediction.Class != "churn" || *e.Prediction.Score != 0.83 || e.Prediction.Probabilities["stay"] != 0.17:
		t.Errorf("prediction %+v", e.Prediction)
	case e.LatencyMS != 12.5 || e.Segments["tier"] != "3" || e.Cost.InputTokens != 10 || e.Cost.CostUSD != 0.002:
		t.Errorf("rest %+v %+v", e, e.Cost)
	}
}

func TestDecodeTimes(t *testing.T) {
	want := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, ts := range []string{`"2026-11-23T10:00:00Z"`, `"2026-11-23T11:00:00+01:00"`, `"2026-11-23 10:00:00"`, `1795428000`, `1795428000000`, `"1795428000"`} {
		ev, err := decoder{Kind: KindLabel}.Decode([]byte(`{"request_id":"r","label":1,"timestamp":` + ts + `}`))
		if err != nil {
			t.Errorf("%s: %v", ts, err)
			continue
		}
		if !ev.Label.LabelTime.Equal(want) || *ev.Label.Class != "1" || *ev.Label.Value != 1 {
			t.Errorf("%s: got %+v", ts, ev.Label)
		}
	}
}

func TestDecodeFailures(t *testing.T) {
	for _, tc := range []struct {
		name, in, class, msg string
		kind                 string
	}{
		{"broken json", `{"request_id": `, ClassMalformed, "invalid JSON", ""},
		{"array", `[1,2]`, ClassMalformed, "not a JSON object", ""},
		{"null", `null`, ClassMalformed, "null", ""},
		{"trailing", `{"a":1} {"b":2}`, ClassMalformed, "trailing", ""},
		{"no model", `{"request_id":"r","timestamp":1,"features":{}}`, ClassMissingField, `"model_id"`, ""},
		{"no time", `{"request_id":"r","model_id":"m","features":{}}`, ClassMissingField, `"timestamp"`, ""},
		{"bad time", `{"request_id":"r","model_id":"m","timestamp":"yesterday","features":{}}`, ClassWrongType, `"yesterday"`, ""},
		{"no features", `{"request_id":"r","model_id":"m","timestamp":1}`, ClassMissingField, `"features"`, ""},
		{"nested feature", `{"request_id":"r","model_id":"m","timestamp":1,"features":{"a":{"b":1}}}`, ClassWrongType, `"features.a"`, ""},
		{"huge number", `{"request_id":"r","model_id":"m","timestamp":1,"features":{"a":1e999}}`, ClassWrongType, "out of range", ""},
		{"numeric id ok but object id", `{"request_id":{},"model_id":"m","timestamp":1,"features":{}}`, ClassWrongType, `"request_id"`, ""},
		{"label missing", `{"request_id":"r","timestamp":1}`, ClassMissingField, `"label"`, KindLabel},
		{"too large", `{"request_id":"` + strings.Repeat("x", 200) + `"}`, ClassTooLarge, "exceeds", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decoder{Kind: tc.kind, MaxRecordBytes: 120}.Decode([]byte(tc.in))
			var f *Failure
			if !errors.As(err, &f) {
				t.Fatalf("err = %v, want a *Failure", err)
			}
			if f.Class != tc.class || !strings.Contains(f.Error(), tc.msg) || ClassOf(err) != tc.class {
				t.Errorf("err = %v (class %s), want class %s mentioning %s", err, f.Class, tc.class, tc.msg)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"request_id":"r1","model_id":"m","timestamp":"2026-11-23T10:00:00Z","features":{"a":1,"b":"x","c":null},"prediction":{"class":"1","score":0.5}}`,
		`{"request_id":"r","label":"1","timestamp":1763892000000}`,
		`{"request_id": `, `[]`, `null`, `{"features":{"a":[1]}}`, `{"timestamp":1e300}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, label bool) {
		d := decoder{Kind: KindInference}.src()
		if label {
			d = decoder{Kind: KindLabel}.src()
		}
		evs, err := d.Decode(b, "")
		if err != nil {
			if ClassOf(err) == "internal" {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		for _, ev := range evs {
			if (ev.Inference == nil) == (ev.Label == nil) {
				t.Fatalf("want exactly one event, got %+v", ev)
			}
			if ev.Inference != nil && (ev.Inference.RequestID == "" || ev.Inference.ModelID == "" || ev.Inference.Features == nil) {
				t.Fatalf("accepted an inference without required fields: %+v", ev.Inference)
			}
			if ev.Label != nil && (ev.Label.RequestID == "" || (ev.Label.Class == nil && ev.Label.Value == nil)) {
				t.Fatalf("accepted a label without required fields: %+v", ev.Label)
			}
		}
	})
}
