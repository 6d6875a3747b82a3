package avro

import (
	"testing"
)

// BenchmarkDocuments decodes a 20-feature event (the v2 producer schema:
// ids, a timestamp, a map of 20 union-typed features, score, decimal, enum,
// date, array) in each framing; the registry lookup is cached after the
// first record.
func BenchmarkDocuments(b *testing.B) {
	reg := startRegistryF(b)
	v2 := readSchema(b, v2File)
	f := mustNew(b, Config{Schemas: []string{v2}, Registry: Registry{URLs: []string{reg.URL()}}})
	rec := body(b, v2, v2Native(20))
	for _, c := range []struct {
		name  string
		value []byte
	}{
		{"single-object", soe(b, v2, rec)},
		{"confluent", confluent(v2ID, rec)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.value)))
			for b.Loop() {
				docs, err := f.Documents(c.value)
				if err != nil || len(docs[0]["features"].(map[string]any)) != 20 {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
