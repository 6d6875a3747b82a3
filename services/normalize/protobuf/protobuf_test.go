package protobuf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/driftline/driftline/services/normalize"
	"github.com/driftline/driftline/services/normalize/normalizetest"
)

// samples are committed records: the user's message written by a v1 and a
// v2 producer, and Driftline's own events.
func samples(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"v1": normalizetest.Sample(t, "user_v1.bin", func() []byte { return marshal(t, build(t, descriptor(t, userV1), userFields(1, 20))) }),
		"v2": normalizetest.Sample(t, "user_v2.bin", func() []byte { return marshal(t, build(t, descriptor(t, userV2), userFields(2, 20))) }),
		"inference": normalizetest.Sample(t, "inference_event.bin", func() []byte {
			return marshal(t, build(t, descriptor(t, events("driftline.v1.InferenceEvent")), inferenceFields()))
		}),
		"label": normalizetest.Sample(t, "label_event.bin", func() []byte {
			return marshal(t, build(t, descriptor(t, events("driftline.v1.LabelEvent")), map[string]any{
				"request_id": "req-000042", "class": "churn", "label_time": t0.Add(36 * time.Hour), "source": "crm",
			}))
		}),
	}
}

func inferenceFields() map[string]any {
	return map[string]any{
		"event_id":      "evt-1",
		"request_id":    "req-000042",
		"model_id":      "churn-model",
		"model_version": "2026.11.1",
		"variant":       "shadow",
		"event_time":    t0,
		"features": map[string]any{
			"income":      map[string]any{"double_value": 52000.5},
			"tenure":      map[string]any{"long_value": int64(27)},
			"contract":    map[string]any{"string_value": "month-to-month"},
			"has_partner": map[string]any{"bool_value": false},
			"zero":        map[string]any{"double_value": 0.0},
			"missing":     map[string]any{},
		},
		"prediction": map[string]any{"score": 0.8125, "class": "churn", "probabilities": map[string]any{"churn": 0.8125, "stay": 0.1875}},
		"latency_ms": 18.25,
		"cost":       map[string]any{"input_tokens": int64(120), "output_tokens": int64(8), "cost_usd": 0.00042},
		"segments":   map[string]any{"region": "EU"},
	}
}

func TestDocumentsGolden(t *testing.T) {
	s := samples(t)
	for _, c := range []struct {
		name, sample string
		cfg          Config
	}{
		{"user_v1", "v1", userV1},
		{"user_v2", "v2", userV2},
		{"inference_event", "inference", events("driftline.v1.InferenceEvent")},
		{"label_event", "label", events("driftline.v1.LabelEvent")},
	} {
		t.Run(c.name, func(t *testing.T) {
			normalizetest.Golden(t, c.name+".golden", normalizetest.Render(normalizetest.DecodeOne(t, mustNew(t, c.cfg), s[c.sample])))
		})
	}
}

// TestEvolution decodes each producer version's record with the other
// version's descriptor.
func TestEvolution(t *testing.T) {
	s := samples(t)
	newWithOld := normalizetest.DecodeOne(t, mustNew(t, userV1), s["v2"])
	oldWithNew := normalizetest.DecodeOne(t, mustNew(t, userV2), s["v1"])
	for _, c := range []struct {
		name    string
		doc     normalize.Document
		key     string
		want    any
		present bool
	}{
		// v2 record, v1 descriptor: added fields are unknown and dropped,
		// the removed optional field is absent, an added enum value is its
		// number.
		{"new with old", newWithOld, "tier", nil, false},
		{"new with old", newWithOld, "latency_ms", nil, false},
		{"new with old", newWithOld, "latency_micros", nil, false},
		{"new with old", newWithOld, "region", int32(4), true},
		{"new with old", newWithOld, "request_id", "req-000043", true},
		{"new with old", newWithOld, "outcome", "timeout upstream", true},
		// v1 record, v2 descriptor: the removed field is dropped, the added
		// optional one absent, the added proto3 scalar its zero value.
		{"old with new", oldWithNew, "latency_micros", nil, false},
		{"old with new", oldWithNew, "latency_ms", nil, false},
		{"old with new", oldWithNew, "tier", "", true},
		{"old with new", oldWithNew, "region", "EU", true},
		{"old with new", oldWithNew, "confidence", float32(0.75), true},
	} {
		got, ok := c.doc[c.key]
		if ok != c.present || (ok && got != c.want) {
			t.Errorf("%s: %s = %#v (present %v), want %#v (present %v)", c.name, c.key, got, ok, c.want, c.present)
		}
	}
}

// TestCanonicalEvents reads Driftline's own Protobuf events: the names are
// the canonical ones, features are plain values, the label oneof is
// "label".
func TestCanonicalEvents(t *testing.T) {
	s := samples(t)
	inf := normalizetest.DecodeOne(t, mustNew(t, events("driftline.v1.InferenceEvent")), s["inference"])
	feats, _ := inf["features"].(normalize.Document)
	want := map[string]any{"income": 52000.5, "tenure": int64(27), "contract": "month-to-month", "has_partner": false, "zero": 0.0, "missing": nil}
	if len(feats) != len(want) {
		t.Errorf("features %#v, want %#v", feats, want)
	}
	for k, w := range want {
		if got, ok := feats[k]; !ok || got != w {
			t.Errorf("feature %s = %#v (present %v), want %#v", k, got, ok, w)
		}
	}
	if got, _ := inf["event_time"].(time.Time); !got.Equal(t0) {
		t.Errorf("event_time = %v, want %v", inf["event_time"], t0)
	}
	pred, _ := inf["prediction"].(normalize.Document)
	if pred["score"] != 0.8125 || pred["class"] != "churn" {
		t.Errorf("prediction %#v", pred)
	}
	if _, ok := pred["value"]; ok {
		t.Errorf("unset optional prediction.value is present: %#v", pred)
	}
	if inf["schema_version"] != int32(0) || inf["source"] != "" {
		t.Errorf("proto3 scalars without presence should read as their zero values: %#v %#v", inf["schema_version"], inf["source"])
	}

	label := normalizetest.DecodeOne(t, mustNew(t, events("driftline.v1.LabelEvent")), s["label"])
	if label["label"] != "churn" || label["class"] != "churn" {
		t.Errorf("label oneof: %#v", label)
	}
	if _, ok := label["value"]; ok {
		t.Errorf("unset oneof member present: %#v", label)
	}
}

func TestFailures(t *testing.T) {
	s := samples(t)
	user := s["v1"]
	// Struct values nested 20 deep: struct_value → Struct → fields → Value …
	deep := map[string]any{"leaf": 1.0}
	for range 20 {
		deep = map[string]any{"n": deep}
	}
	deepRec := marshal(t, build(t, descriptor(t, userV1), map[string]any{"extra": deep}))

	cfg := userV1
	cfg.MaxRecordBytes = 1000
	cfg.MaxDepth = 16
	f := mustNew(t, cfg)
	for _, c := range []struct {
		name  string
		value []byte
		class string
	}{
		{"truncated", user[:len(user)-1], normalize.ClassMalformed},
		{"bad wire type", []byte{0x0f, 1}, normalize.ClassMalformed},
		{"field number zero", []byte{0x00, 1}, normalize.ClassMalformed},
		{"length past the end", []byte{0x0a, 0x7f, 'a'}, normalize.ClassMalformed},
		{"bad utf-8 string", protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "\xff\xfe"), normalize.ClassMalformed},
		{"json", []byte(`{"request_id":"x"}`), normalize.ClassMalformed},
		// categorical map entry: key "a", then the key again as a varint;
		// protobuf-go panics on it.
		{"map key with two wire types", []byte{0x2a, 0x05, 0x0a, 0x01, 'a', 0x08, 0x00}, normalize.ClassMalformed},
		{"too large", append(append([]byte{}, user...), make([]byte, 1000)...), normalize.ClassTooLarge},
		{"too deep", deepRec, normalize.ClassTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			normalizetest.Fails(t, f, c.value, c.class)
		})
	}
	// Within the limits the same nesting decodes.
	cfg.MaxDepth = 64
	doc := normalizetest.DecodeOne(t, mustNew(t, cfg), deepRec)
	x, _ := doc["extra"].(normalize.Document)
	for range 20 {
		x, _ = x["n"].(normalize.Document)
	}
	if x["leaf"] != 1.0 {
		t.Errorf("deep struct: got %#v", doc["extra"])
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.proto"), []byte("syntax = \"proto3\";\nmessage M {\n  strin a = 1;\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no files", Config{Message: "a.B"}, "files"},
		{"no message", Config{Files: []string{"x.proto"}}, "message"},
		{"missing file", Config{Files: []string{"nope.proto"}, Message: "a.B"}, "nope.proto"},
		{"compile error", Config{ImportPaths: []string{dir}, Files: []string{"bad.proto"}, Message: "M"}, "bad.proto:3"},
		{"unknown message", Config{ImportPaths: userV1.ImportPaths, Files: userV1.Files, Message: "acme.ml.Nope"}, `"acme.ml.Nope"`},
		{"enum", Config{ImportPaths: userV1.ImportPaths, Files: userV1.Files, Message: "acme.ml.Region"}, "not a message"},
		{"negative", Config{ImportPaths: userV1.ImportPaths, Files: userV1.Files, Message: userV1.Message, MaxDepth: -1}, "max_depth -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error naming %q", err, c.want)
			}
		})
	}
}

// TestConfluentFraming reads records a Confluent Protobuf serializer wrote:
// 00, the schema id, the message's index path, the message.
func TestConfluentFraming(t *testing.T) {
	s := samples(t)
	frame := func(id int, index []int, body []byte) []byte {
		var h sr.ConfluentHeader
		b, _ := h.AppendEncode(nil, id, index)
		return append(b, body...)
	}
	inf := mustNew(t, events("driftline.v1.InferenceEvent"))
	user := mustNew(t, userV2)
	for _, c := range []struct {
		name   string
		f      *Format
		bare   []byte
		framed []byte
	}{
		{"InferenceEvent is message 3 of events.proto", inf, s["inference"], frame(7, []int{3}, s["inference"])},
		{"ChurnScored is message 1 of scored.proto", user, s["v2"], frame(8, []int{1}, s["v2"])},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, want := normalizetest.Render(normalizetest.DecodeOne(t, c.f, c.framed)), normalizetest.Render(normalizetest.DecodeOne(t, c.f, c.bare)); got != want {
				t.Errorf("framed record decodes differently:\n%s\n%s", got, want)
			}
		})
	}
	for _, c := range []struct {
		name  string
		value []byte
		class string
	}{
		{"another message of the file", frame(7, []int{0}, s["inference"]), normalize.ClassUnknownSchema},
		{"the first-message shortcut", frame(7, []int{0}, nil), normalize.ClassUnknownSchema},
		{"short header", []byte{0, 0, 7}, normalize.ClassMalformed},
		{"negative index count", []byte{0, 0, 0, 0, 7, 0x01}, normalize.ClassMalformed},
		{"index deeper than any file nests", append([]byte{0, 0, 0, 0, 7}, protowire.AppendVarint(nil, protowire.EncodeZigZag(1000))...), normalize.ClassMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := inf.Documents(c.value)
			var fail *normalize.Failure
			if !errors.As(err, &fail) || fail.Class != c.class {
				t.Errorf("got %v, want class %s", err, c.class)
			}
		})
	}
}
