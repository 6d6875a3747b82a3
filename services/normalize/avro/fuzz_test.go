package avro

import (
	"testing"

	"github.com/driftline/driftline/services/normalize/normalizetest"
)

// FuzzDocuments feeds arbitrary records to a format that knows both
// producer versions by fingerprint and by registry id, and a recursive and
// an array schema. It must not panic; a record either decodes into one
// document of Document types or fails with a *normalize.Failure (the
// registry is up, so ErrRegistryUnavailable is not expected).
func FuzzDocuments(f *testing.F) {
	reg := startRegistryF(f)
	recursive := `{"type":"record","name":"Node","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","Node"]}]}`
	list := `{"type":"record","name":"L","fields":[{"name":"xs","type":{"type":"array","items":"long"}},{"name":"m","type":{"type":"map","values":"bytes"}}]}`
	format := mustNew(f, Config{
		SchemaFiles: []string{v1File, v2File},
		Schemas:     []string{recursive, list},
		Registry:    Registry{URLs: []string{reg.URL()}, CacheSize: 16},
		MaxItems:    1 << 10,
		MaxDepth:    16,
	})
	for _, name := range []string{"v1_soe.bin", "v2_soe.bin", "v1_confluent.bin", "v2_confluent.bin"} {
		f.Add(readSampleF(f, name))
	}
	f.Add(soe(f, recursive, []byte{2, 2, 4, 2, 6, 0}))
	f.Add(soe(f, list, []byte{3, 2, 4, 6, 0, 2, 2, 'k', 2, 'v', 0}))
	f.Add(soe(f, list, []byte{0xfe, 0xff, 0xff, 0xff, 0x0f}))
	f.Add([]byte{0, 0, 0, 0, 99, 2})
	f.Fuzz(func(t *testing.T, value []byte) {
		if err := normalizetest.Outcome(format.Documents(value)); err != nil {
			t.Fatal(err)
		}
	})
}
