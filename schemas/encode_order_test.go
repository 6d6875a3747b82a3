package schemas

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// encodeWith encodes ev with e, as encode does but without the pool.
func encodeWith(e *encoder, ev *InferenceEvent) ([]byte, error) {
	e.buf = e.buf[:0]
	err := ev.write(e)
	return bytes.Clone(e.buf), err
}

// The encoder reuses the previous feature map's sorted keys; whatever the
// previous map was, the bytes and the error must be those of an encoder
// that never saw it.
func TestFeatureOrderReuse(t *testing.T) {
	type m = map[string]any
	bad := struct{}{}
	cases := []struct {
		name       string
		prev, next m
	}{
		{"same keys", m{"a": 1.0, "b": "x", "c": nil}, m{"a": 2.0, "b": "y", "c": true}},
		{"one key replaced", m{"a": 1.0, "b": 2.0, "c": 3.0}, m{"a": 1.0, "bb": 2.0, "c": 3.0}},
		{"fewer keys", m{"a": 1.0, "b": 2.0, "c": 3.0}, m{"a": 1.0, "c": 3.0}},
		{"more keys", m{"a": 1.0, "c": 3.0}, m{"a": 1.0, "b": 2.0, "c": 3.0}},
		{"empty after", m{"a": 1.0}, m{}},
		{"nil after", m{"a": 1.0}, nil},
		{"bad value on the cached path", m{"a": 1.0, "b": 2.0}, m{"a": 1.0, "b": bad}},
		// The cached path meets c's bad value before it misses d; the
		// general path must report b, the first bad key in order.
		{"error before a missing key", m{"a": 1.0, "c": 3.0, "d": 4.0}, m{"a": 1.0, "b": bad, "c": bad}},
		{"uint64 overflow", m{"a": 1.0}, m{"a": uint64(1 << 63)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, werr := encodeWith(&encoder{}, &InferenceEvent{Features: c.next})
			e := &encoder{}
			if _, err := encodeWith(e, &InferenceEvent{Features: c.prev}); err != nil {
				t.Fatal(err)
			}
			got, gerr := encodeWith(e, &InferenceEvent{Features: c.next})
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("error %v, want %v", gerr, werr)
			}
			if werr == nil && !bytes.Equal(got, want) {
				t.Fatalf("bytes differ after a previous map:\n got  %x\n want %x", got, want)
			}
			// And the cache must not stick: the previous map again.
			again, err := encodeWith(e, &InferenceEvent{Features: c.prev})
			fresh, _ := encodeWith(&encoder{}, &InferenceEvent{Features: c.prev})
			if err != nil || !bytes.Equal(again, fresh) {
				t.Fatalf("previous map re-encoded differently: %v", err)
			}
		})
	}
}

// A random walk over maps drawn from a small set of names, so that key
// sets often repeat, overlap or have equal sizes, checked against a fresh
// encoder each time.
func TestFeatureOrderRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	names := []string{"a", "b", "c", "d", "e", "f", "aa", "ab", "b0", "é"}
	e := &encoder{}
	prev := map[string]any{}
	for i := range 5000 {
		next := map[string]any{}
		switch r.IntN(3) {
		case 0: // the same keys, other values
			for k := range prev {
				next[k] = r.Float64()
			}
		case 1: // one key swapped for another
			for k := range prev {
				next[k] = int64(r.IntN(100))
			}
			if len(next) > 0 {
				for k := range next {
					delete(next, k)
					break
				}
				next[names[r.IntN(len(names))]] = "x"
			}
		default:
			for range r.IntN(len(names) + 1) {
				next[names[r.IntN(len(names))]] = r.IntN(2) == 0
			}
		}
		if r.IntN(20) == 0 && len(next) > 0 {
			next[names[r.IntN(len(names))]] = []int{1} // unsupported
		}
		want, werr := encodeWith(&encoder{}, &InferenceEvent{Features: next})
		got, gerr := encodeWith(e, &InferenceEvent{Features: next})
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("step %d, %v after %v: got %x (%v), want %x (%v)", i, next, prev, got, gerr, want, werr)
		}
		prev = next
	}
}

func TestAppendMarshal(t *testing.T) {
	for _, c := range roundTripCases() {
		want, err := Marshal(c.in)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("key")
		got, err := AppendMarshal(prefix, c.in)
		if err != nil || string(got[:3]) != "key" || !bytes.Equal(got[3:], want) {
			t.Fatalf("%s: AppendMarshal gave %x (%v), want key + %x", c.name, got, err, want)
		}
		if fresh, _ := AppendMarshal(nil, c.in); !bytes.Equal(fresh, want) || cap(fresh) != len(fresh) {
			t.Fatalf("%s: AppendMarshal(nil) gave %x of capacity %d", c.name, fresh, cap(fresh))
		}
	}
	dst := []byte("key")
	for _, v := range []any{nil, &InferenceEvent{Features: map[string]any{"x": []int{1}}}} {
		got, err := AppendMarshal(dst, v)
		if !errors.Is(err, ErrUnsupportedType) || string(got) != "key" {
			t.Fatalf("AppendMarshal(%T): %q, %v; want key unchanged and ErrUnsupportedType", v, got, err)
		}
	}
}
