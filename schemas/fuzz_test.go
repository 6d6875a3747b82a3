package schemas

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzIDs are the registry ids fuzzDecoder binds the current schemas to, so
// Confluent-framed inputs reach the decoder too.
var fuzzIDs = map[string]uint32{
	"InferenceEvent": 1, "LabelEvent": 2, "ReferenceProfile": 3, "WindowPartial": 4,
	"MetricWindow": 5, "Trigger": 6, "DeadLetter": 7,
}

// fuzzDecoder knows every current schema by id and the evolution fixtures by
// fingerprint and id. Its item limit is lower than the default so the fuzzer
// reaches it.
func fuzzDecoder(t testing.TB) *Decoder {
	d := NewDecoder(WithLimits(Limits{MaxItems: 1 << 12}))
	for short, id := range fuzzIDs {
		s, _ := Schema(short)
		if err := d.RegisterID(id, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range evolutionCases() {
		if err := d.RegisterID(c.id, readSchema(t, c.schema)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

var sentinels = []error{ErrMalformed, ErrTooLarge, ErrUnknownSchema, ErrIncompatible, ErrWrongType}

// FuzzUnmarshal feeds arbitrary bytes to every event type. Decoding must
// never panic (goavro panics are recovered, and reported here as failures),
// every error must carry one of the input sentinels, and whatever decodes
// must re-encode and decode again to the same bytes.
func FuzzUnmarshal(f *testing.F) {
	d := fuzzDecoder(f)
	b, _ := Marshal(goldenInference())
	f.Add(b)
	f.Add(inferencePrefix(0xfe, 0xff, 0xff, 0xff, 0x0f))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, target := range []any{
			&InferenceEvent{}, &LabelEvent{}, &ReferenceProfile{}, &WindowPartial{},
			&MetricWindow{}, &Trigger{}, &DeadLetter{},
		} {
			err := d.Unmarshal(b, target)
			if err != nil {
				if errors.Is(err, errPanic) {
					t.Fatalf("goavro panicked past the guard: %v", err)
				}
				classified := false
				for _, s := range sentinels {
					classified = classified || errors.Is(err, s)
				}
				if !classified {
					t.Fatalf("error without a sentinel: %v", err)
				}
				continue
			}
			b1, err := Marshal(target)
			if err != nil {
				t.Fatalf("decoded %T does not marshal: %v", target, err)
			}
			again := newOf(target)
			if err := Unmarshal(b1, again); err != nil {
				t.Fatalf("re-encoded %T does not decode: %v", target, err)
			}
			b2, _ := Marshal(again)
			if !bytes.Equal(b1, b2) {
				t.Fatalf("%T changes across a round trip:\n%x\n%x", target, b1, b2)
			}
		}
	})
}
