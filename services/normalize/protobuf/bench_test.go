package protobuf

import "testing"

// BenchmarkDocuments decodes a 20-feature event in each shape: the user's
// message (18 numeric and 2 categorical features in maps, a timestamp,
// enums, wrappers, a Struct) and Driftline's InferenceEvent with 20
// features as driftline.v1.Value.
func BenchmarkDocuments(b *testing.B) {
	features := map[string]any{}
	for i := range 20 {
		switch i % 3 {
		case 0:
			features[string(rune('a'+i))+"_num"] = map[string]any{"double_value": float64(i) * 1.25}
		case 1:
			features[string(rune('a'+i))+"_count"] = map[string]any{"long_value": int64(i)}
		default:
			features[string(rune('a'+i))+"_cat"] = map[string]any{"string_value": "cat"}
		}
	}
	inf := inferenceFields()
	inf["features"] = features
	for _, c := range []struct {
		name   string
		cfg    Config
		fields map[string]any
	}{
		{"user", userV2, userFields(2, 20)},
		{"inference-event", events("driftline.v1.InferenceEvent"), inf},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := mustNew(b, c.cfg)
			value := marshal(b, build(b, f.desc, c.fields))
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			for b.Loop() {
				if _, err := f.Documents(value); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
