package protobuf

import (
	"testing"

	"github.com/driftline/driftline/services/normalize/normalizetest"
)

// FuzzDocuments feeds arbitrary records to the user's message (with maps,
// oneofs, enums, well-known types and recursive Structs) and to Driftline's
// InferenceEvent. Nothing may panic; a record either decodes into one
// document of Document types or fails with a *normalize.Failure.
func FuzzDocuments(f *testing.F) {
	low := userV1
	low.MaxDepth = 12
	formats := []*Format{mustNew(f, userV1), mustNew(f, low), mustNew(f, userV2), mustNew(f, events("driftline.v1.InferenceEvent"))}
	for _, b := range samples(f) {
		f.Add(b)
	}
	f.Add([]byte{0x8a, 0x01, 0x04, 0x0a, 0x02, 0x0a, 0x00})                // extra: a Struct with an empty entry
	f.Add(append([]byte{0, 0, 0, 0, 7, 2, 6}, samples(f)["inference"]...)) // Confluent framing, index [3]
	f.Add([]byte{0x1a, 0x06, 0x08, 0xff, 0xff, 0xff, 0xff, 0x0f})          // ts seconds, truncated
	f.Fuzz(func(t *testing.T, value []byte) {
		for _, format := range formats {
			if err := normalizetest.Outcome(format.Documents(value)); err != nil {
				t.Fatalf("%s: %v", format.desc.FullName(), err)
			}
		}
	})
}
