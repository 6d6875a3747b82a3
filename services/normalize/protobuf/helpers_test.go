package protobuf

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Configs of the user's message in both versions and of Driftline's own
// events.
var (
	userV1 = Config{ImportPaths: []string{"testdata/v1"}, Files: []string{"acme/ml/scored.proto"}, Message: "acme.ml.ChurnScored"}
	userV2 = Config{ImportPaths: []string{"testdata/v2"}, Files: []string{"acme/ml/scored.proto"}, Message: "acme.ml.ChurnScored"}
	events = func(msg string) Config {
		return Config{ImportPaths: []string{"../../../proto"}, Files: []string{"driftline/v1/events.proto"}, Message: msg}
	}
)

func descriptor(t testing.TB, cfg Config) protoreflect.MessageDescriptor {
	t.Helper()
	md, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// build makes a message from a tree of Go values, as a producer would:
// messages and maps are map[string]any, repeated fields []any, enums their
// names, Timestamp time.Time, Duration time.Duration, Struct map[string]any.
func build(t testing.TB, md protoreflect.MessageDescriptor, fields map[string]any) *dynamicpb.Message {
	t.Helper()
	m := dynamicpb.NewMessage(md)
	for name, v := range fields {
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			t.Fatalf("%s has no field %s", md.FullName(), name)
		}
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for _, e := range v.([]any) {
				l.Append(protoValue(t, fd, e))
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for k, e := range v.(map[string]any) {
				mp.Set(mapKey(t, fd.MapKey(), k), protoValue(t, fd.MapValue(), e))
			}
		default:
			m.Set(fd, protoValue(t, fd, v))
		}
	}
	return m
}

func mapKey(t testing.TB, fd protoreflect.FieldDescriptor, k string) protoreflect.MapKey {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(k).MapKey()
	case protoreflect.Int32Kind:
		var n int32
		fmt.Sscan(k, &n)
		return protoreflect.ValueOfInt32(n).MapKey()
	}
	t.Fatalf("map key kind %v", fd.Kind())
	return protoreflect.MapKey{}
}

func protoValue(t testing.TB, fd protoreflect.FieldDescriptor, v any) protoreflect.Value {
	t.Helper()
	if fd.Kind() == protoreflect.EnumKind {
		ev := fd.Enum().Values().ByName(protoreflect.Name(v.(string)))
		if ev == nil {
			t.Fatalf("enum %s has no %v", fd.Enum().FullName(), v)
		}
		return protoreflect.ValueOfEnum(ev.Number())
	}
	if fd.Kind() == protoreflect.MessageKind {
		var wk proto.Message
		switch x := v.(type) {
		case time.Time:
			wk = timestamppb.New(x)
		case time.Duration:
			wk = durationpb.New(x)
		case map[string]any:
			if fd.Message().FullName() == "google.protobuf.Struct" {
				s, err := structpb.NewStruct(x)
				if err != nil {
					t.Fatal(err)
				}
				wk = s
			} else {
				return protoreflect.ValueOfMessage(build(t, fd.Message(), x))
			}
		default:
			// A wrapper: its value field.
			return protoreflect.ValueOfMessage(build(t, fd.Message(), map[string]any{"value": v}))
		}
		// Well-known types go through their wire form into the dynamic
		// descriptor the file was compiled with.
		b, err := proto.Marshal(wk)
		if err != nil {
			t.Fatal(err)
		}
		m := dynamicpb.NewMessage(fd.Message())
		if err := proto.Unmarshal(b, m); err != nil {
			t.Fatal(err)
		}
		return protoreflect.ValueOfMessage(m)
	}
	return protoreflect.ValueOf(v)
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var t0 = time.Date(2026, 11, 23, 14, 5, 17, 250e6, time.UTC)

// userFields is one record of the user's message; v2 adds tier and
// latency_ms and drops latency_micros.
func userFields(version, nFeatures int) map[string]any {
	numeric := map[string]any{"tenure_months": 27.0, "monthly_charges": 74.35}
	for i := len(numeric); i < nFeatures-2; i++ {
		numeric[fmt.Sprintf("f%02d", i)] = float64(i) * 1.25
	}
	f := map[string]any{
		"request_id":      "req-000042",
		"model":           map[string]any{"name": "churn-model", "version": "2026.11.1"},
		"ts":              t0,
		"numeric":         numeric,
		"categorical":     map[string]any{"contract": "month-to-month", "payment": "card"},
		"score":           0.8125,
		"predicted_class": "churn",
		"region":          "EU",
		"top_reasons":     []any{"contract", "tenure_months"},
		"trace_id":        []byte{0xde, 0xad, 0xbe, 0xef},
		"income":          52000.0,
		"customer_hash":   uint64(1) << 63,
		"confidence":      float32(0.75),
		"queue_time":      1500 * time.Microsecond,
		"extra":           map[string]any{"ab_bucket": "b", "retries": 2.0, "tags": []any{"x", true}, "none": nil},
		"tenure_delta":    int32(-3),
		"flags":           map[string]any{"7": true},
	}
	if version == 1 {
		f["latency_micros"] = int64(18250)
	} else {
		f["request_id"] = "req-000043"
		f["tier"] = "gold"
		f["latency_ms"] = 18.25
		f["region"] = "LATAM"
		delete(f, "predicted_class")
		delete(f, "income")
		delete(f, "confidence")
		f["error"] = "timeout upstream"
	}
	return f
}

func mustNew(t testing.TB, cfg Config) *Format {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f.(*Format)
}
