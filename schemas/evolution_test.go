package schemas

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
)

func readSchema(t testing.TB, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeAs encodes native data with another writer schema, using goavro so
// that the writer side is independent of this package, and returns the body.
func writeAs(t testing.TB, schema string, native map[string]any) []byte {
	t.Helper()
	c, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	body, err := c.BinaryFromNative(nil, native)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func singleObject(t testing.TB, schema string, body []byte) []byte {
	t.Helper()
	fp, err := Fingerprint(schema)
	if err != nil {
		t.Fatal(err)
	}
	h := soeHeader(fp)
	return append(h[:], body...)
}

func confluent(id uint32, body []byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{0}, id), body...)
}

// evolutionCase is data written with another version of a schema.
type evolutionCase struct {
	name   string
	schema string // writer schema file
	id     uint32 // its registry id in the fuzz test
	native map[string]any
	target any
	want   any
}

func evolutionCases() []evolutionCase {
	u := goavro.Union
	return []evolutionCase{
		{
			// An older writer: fields added since take their defaults, and
			// float latency is promoted to double.
			name:   "older InferenceEvent",
			schema: "testdata/evolution/inference_event.v0.avsc",
			id:     8,
			native: map[string]any{
				"event_id": "e1", "request_id": "r1", "model_id": "m", "model_version": "1", "variant": "production",
				"event_time": t0,
				"features": map[string]any{
					"amount": u("double", 12.5), "n": u("long", int64(3)), "country": u("string", "DE"), "none": nil,
				},
				"prediction": map[string]any{"score": u("double", 0.9), "class": nil, "value": nil},
				"latency_ms": float32(12.25),
				"segments":   map[string]any{"region": "eu"},
				"source":     "old-adapter",
			},
			target: &InferenceEvent{},
			want: &InferenceEvent{
				EventID: "e1", RequestID: "r1", ModelID: "m", ModelVersion: "1", Variant: "production", EventTime: t0,
				Features:   map[string]any{"amount": 12.5, "n": int64(3), "country": "DE", "none": nil},
				Prediction: Prediction{Score: ptr(0.9)}, // probabilities: default null
				LatencyMS:  12.25,
				Segments:   map[string]string{"region": "eu"},
				Source:     "old-adapter",
				// Cost and Attributions: default null; SchemaVersion: default 0.
			},
		},
		{
			// A newer writer: fields this reader does not know are dropped,
			// at the top level and inside nested and nullable records.
			name:   "newer InferenceEvent",
			schema: "testdata/evolution/inference_event.v2.avsc",
			id:     9,
			native: map[string]any{
				"event_id": "e2", "tenant": "acme", "request_id": "r2", "model_id": "m", "model_version": "2", "variant": "shadow",
				"event_time": t1,
				"features":   map[string]any{"flag": u("boolean", true)},
				"prediction": map[string]any{
					"score": nil, "class": u("string", "b"), "value": nil,
					"probabilities": u("map", map[string]any{"a": 0.25, "b": 0.75}), "explanation": u("string", "because"),
				},
				"latency_ms":     3.5,
				"cost":           u("dev.driftline.Cost", map[string]any{"input_tokens": int64(10), "output_tokens": int64(20), "cached_tokens": int64(7), "cost_usd": 0.5}),
				"segments":       map[string]any{},
				"attributions":   u("map", map[string]any{"flag": 1.0}),
				"source":         "new-adapter",
				"schema_version": int32(9),
				"trace":          u("dev.driftline.Trace", map[string]any{"trace_id": "t", "spans": []any{"a", "b"}}),
			},
			target: &InferenceEvent{},
			want: &InferenceEvent{
				EventID: "e2", RequestID: "r2", ModelID: "m", ModelVersion: "2", Variant: "shadow", EventTime: t1,
				Features:     map[string]any{"flag": true},
				Prediction:   Prediction{Class: ptr("b"), Probabilities: map[string]float64{"a": 0.25, "b": 0.75}},
				LatencyMS:    3.5,
				Cost:         &Cost{InputTokens: 10, OutputTokens: 20, CostUSD: 0.5},
				Segments:     map[string]string{},
				Attributions: map[string]float64{"flag": 1},
				Source:       "new-adapter", SchemaVersion: 9,
			},
		},
		{
			// Defaults inside records inside an array, int promoted to long,
			// plain long read as timestamp-millis.
			name:   "older Trigger",
			schema: "testdata/evolution/trigger.v0.avsc",
			id:     10,
			native: map[string]any{
				"trigger_id": "tr", "model_id": "m", "model_version": "1", "policy": "p", "action": "retrain", "severity": "low",
				"evidence": []any{map[string]any{
					"model_id": "m", "model_version": "1", "variant": "production", "segment": "", "window_start": t0, "window_end": t1,
					"family": "drift", "feature": "amount", "metric": "psi", "value": 0.4, "threshold": u("double", 0.2),
					"sample_count": int32(500), "computed_at": t1.UnixMilli(),
				}},
				"created_at": t1, "cooldown_until": t1.Add(time.Hour),
			},
			target: &Trigger{},
			want: &Trigger{
				TriggerID: "tr", ModelID: "m", ModelVersion: "1", Policy: "p", Action: "retrain", Severity: "low",
				Evidence: []MetricWindow{{
					ModelID: "m", ModelVersion: "1", Variant: "production", WindowStart: t0, WindowEnd: t1,
					Family: "drift", Feature: "amount", Metric: "psi", Value: 0.4, Threshold: ptr(0.2),
					SampleCount: 500, ComputedAt: t1,
				}},
				CreatedAt: t1, CooldownUntil: t1.Add(time.Hour),
			},
		},
	}
}

func TestEvolution(t *testing.T) {
	for _, c := range evolutionCases() {
		t.Run(c.name, func(t *testing.T) {
			schema := readSchema(t, c.schema)
			body := writeAs(t, schema, c.native)
			soe := singleObject(t, schema, body)

			if err := Unmarshal(soe, c.target); !errors.Is(err, ErrUnknownSchema) {
				t.Fatalf("an unregistered writer must be unknown, got %v", err)
			}

			d := NewDecoder()
			fp, err := d.RegisterSchema(schema)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := Fingerprint(schema); fp != want {
				t.Fatalf("RegisterSchema returned %x, want %x", fp, want)
			}
			got := newOf(c.target)
			if err := d.Unmarshal(soe, got); err != nil {
				t.Fatal(err)
			}
			assertEqual(t, got, c.want)

			// The same through a registry id.
			r := NewDecoder(WithResolver(func(_ context.Context, id uint32) (string, error) { return schema, nil }))
			got = newOf(c.target)
			if err := r.Unmarshal(confluent(11, body), got); err != nil {
				t.Fatal(err)
			}
			assertEqual(t, got, c.want)
		})
	}
}

// mutateSchema returns the current schema of an event with fn applied to
// its parsed fields.
func mutateSchema(t *testing.T, name string, fn func(fields []any) []any) string {
	t.Helper()
	s, _ := Schema(name)
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	v["fields"] = fn(v["fields"].([]any))
	b, _ := json.Marshal(v)
	return string(b)
}

func setField(name string, typ any) func([]any) []any {
	return func(fields []any) []any {
		for _, f := range fields {
			if fm := f.(map[string]any); fm["name"] == name {
				fm["type"] = typ
				delete(fm, "default")
			}
		}
		return fields
	}
}

func dropField(name string) func([]any) []any {
	return func(fields []any) []any {
		var out []any
		for _, f := range fields {
			if f.(map[string]any)["name"] != name {
				out = append(out, f)
			}
		}
		return out
	}
}

func TestWriterCompatibility(t *testing.T) {
	ts := func(lt string) any { return map[string]any{"type": "long", "logicalType": lt} }
	for _, c := range []struct {
		name   string
		schema string
		want   error // nil: compatible
	}{
		{"current", mutateSchema(t, "InferenceEvent", func(f []any) []any { return f }), nil},
		{"int latency promotes to double", mutateSchema(t, "InferenceEvent", setField("latency_ms", "int")), nil},
		{"writer without a defaulted field", mutateSchema(t, "InferenceEvent", dropField("source")), nil},
		{"non-null writer, nullable reader", mutateSchema(t, "InferenceEvent", setField("attributions", map[string]any{"type": "map", "values": "double"})), nil},
		{"bytes feature reads as string", mutateSchema(t, "InferenceEvent", setField("features", map[string]any{"type": "map", "values": []any{"null", "bytes"}})), nil},
		{"missing required field", mutateSchema(t, "InferenceEvent", dropField("request_id")), ErrIncompatible},
		{"string became long", mutateSchema(t, "InferenceEvent", setField("event_id", "long")), ErrIncompatible},
		{"long narrows to int", mutateSchema(t, "InferenceEvent", setField("schema_version", "long")), ErrIncompatible},
		{"nullable writer, required reader", mutateSchema(t, "InferenceEvent", setField("source", []any{"null", "string"})), ErrIncompatible},
		{"timestamp-micros", mutateSchema(t, "InferenceEvent", setField("event_time", ts("timestamp-micros"))), ErrIncompatible},
		{"feature branch the reader lacks", mutateSchema(t, "InferenceEvent", setField("features", map[string]any{"type": "map", "values": []any{"null", "float", map[string]any{"type": "array", "items": "long"}}})), ErrIncompatible},
		{"foreign record", `{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"string"}]}`, ErrIncompatible},
		{"unqualified name", `{"type":"record","name":"LabelEvent","fields":[{"name":"request_id","type":"string"},{"name":"label_time","type":"long"}]}`, ErrIncompatible},
		{"not a record", `"string"`, ErrIncompatible},
		{"not JSON", `{"type":`, ErrInvalidSchema},
		{"unknown type", `{"type":"record","name":"dev.driftline.LabelEvent","fields":[{"name":"x","type":"Nope"}]}`, ErrInvalidSchema},
		{"goavro attribute type confusion", `{"type":"record","name":"dev.driftline.LabelEvent","fields":[{"name":"x","type":{"type":"bytes","logicalType":"decimal","precision":"4","scale":2}}]}`, ErrInvalidSchema},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewDecoder().RegisterSchema(c.schema)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err != nil {
				t.Log(err)
			}
		})
	}
}

// TestWriterShapes reads a writer whose cost is a plain record (of ints and a
// float) into the reader's [null, Cost], and bytes, int and float features.
func TestWriterShapes(t *testing.T) {
	schema := mutateSchema(t, "InferenceEvent", func(f []any) []any {
		setField("cost", map[string]any{"type": "record", "name": "Cost", "fields": []any{
			map[string]any{"name": "input_tokens", "type": "int"},
			map[string]any{"name": "output_tokens", "type": "int"},
			map[string]any{"name": "cost_usd", "type": "float"},
		}})(f)
		return setField("features", map[string]any{"type": "map", "values": []any{"null", "bytes", "int", "float"}})(f)
	})
	native := map[string]any{
		"event_id": "e", "request_id": "r", "model_id": "m", "model_version": "v", "variant": "production", "event_time": t0,
		"features":   map[string]any{"b": goavro.Union("bytes", []byte("raw")), "i": goavro.Union("int", int32(-4)), "f": goavro.Union("float", float32(1.5))},
		"prediction": map[string]any{}, "latency_ms": 1.0,
		"cost":     map[string]any{"input_tokens": int32(1), "output_tokens": int32(2), "cost_usd": float32(0.25)},
		"segments": map[string]any{}, "attributions": nil, "source": "", "schema_version": int32(0),
	}
	d := NewDecoder()
	if _, err := d.RegisterSchema(schema); err != nil {
		t.Fatal(err)
	}
	var got InferenceEvent
	if err := d.Unmarshal(singleObject(t, schema, writeAs(t, schema, native)), &got); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, &got, &InferenceEvent{
		EventID: "e", RequestID: "r", ModelID: "m", ModelVersion: "v", Variant: "production", EventTime: t0,
		Features:  map[string]any{"b": "raw", "i": int64(-4), "f": 1.5},
		LatencyMS: 1, Cost: &Cost{InputTokens: 1, OutputTokens: 2, CostUSD: 0.25}, Segments: map[string]string{},
	})
}

// TestHistory checks that every embedded historic schema is registered and
// resolves against today's reader (loadSchemas refuses it otherwise).
func TestHistory(t *testing.T) {
	err := fs.WalkDir(avroFS, "avro/history", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".avsc" {
			return err
		}
		b, _ := avroFS.ReadFile(p)
		fp, err := Fingerprint(string(b))
		if err != nil {
			return err
		}
		if builtin[fp] == nil {
			t.Errorf("%s is not registered", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
