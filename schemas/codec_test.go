package schemas

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, c := range roundTripCases() {
		t.Run(c.name, func(t *testing.T) {
			name, _ := NameOf(c.in)
			schema, _ := Schema(name)
			d := NewDecoder()
			if err := d.RegisterID(77, schema); err != nil {
				t.Fatal(err)
			}

			soe, err := Marshal(c.in)
			if err != nil {
				t.Fatal(err)
			}
			conf, err := MarshalConfluent(c.in, 77)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(soe[soeHeaderLen:], conf[5:]) {
				t.Fatal("the two framings carry different bodies")
			}
			for _, framed := range []struct {
				name string
				b    []byte
			}{{"single-object", soe}, {"confluent", conf}} {
				got := newOf(c.in)
				if err := d.Unmarshal(framed.b, got); err != nil {
					t.Fatalf("%s: %v", framed.name, err)
				}
				assertEqual(t, got, c.wanted())

				// Decoding then encoding again gives the same bytes: the
				// encoding is deterministic and nothing is lost.
				again, err := Marshal(got)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, soe) {
					t.Fatalf("%s: re-encoding differs:\n%x\n%x", framed.name, again, soe)
				}
			}

			// Values marshal like pointers.
			byValue, err := Marshal(deref(c.in))
			if err != nil || !bytes.Equal(byValue, soe) {
				t.Fatalf("marshal by value: %v, equal %v", err, bytes.Equal(byValue, soe))
			}
		})
	}
}

// TestGoavroAgrees checks the hand-written encoder against goavro, which
// implements the schemas independently: goavro must read every Marshal
// output completely, and goavro's own encoding of the same data must decode
// to the same event.
func TestGoavroAgrees(t *testing.T) {
	for _, c := range roundTripCases() {
		t.Run(c.name, func(t *testing.T) {
			et := eventOf(c.in)
			b, err := Marshal(c.in)
			if err != nil {
				t.Fatal(err)
			}
			// goavro's own single-object functions would check its
			// fingerprint, which is wrong for logical types (fingerprint.go).
			native, rest, err := et.cur.codec.NativeFromBinary(b[soeHeaderLen:])
			if err != nil || len(rest) != 0 {
				t.Fatalf("goavro cannot read Marshal's output: %v (%d bytes left)", err, len(rest))
			}
			theirs, err := et.cur.codec.BinaryFromNative(append([]byte(nil), et.header[:]...), native)
			if err != nil {
				t.Fatalf("goavro cannot re-encode: %v", err)
			}
			got := newOf(c.in)
			if err := Unmarshal(theirs, got); err != nil {
				t.Fatal(err)
			}
			assertEqual(t, got, c.wanted())
			// With at most one entry per map, goavro's map order cannot
			// differ, so the bytes must be identical.
			if maxMapLen(reflect.ValueOf(c.in)) <= 1 && !bytes.Equal(theirs, b) {
				t.Fatalf("bytes differ from goavro's:\nours   %x\ngoavro %x", b, theirs)
			}
		})
	}
}

func maxMapLen(v reflect.Value) int {
	m := 0
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			m = maxMapLen(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			m = max(m, maxMapLen(v.Field(i)))
		}
	case reflect.Slice:
		for i := range v.Len() {
			m = max(m, maxMapLen(v.Index(i)))
		}
	case reflect.Map:
		m = v.Len()
	}
	return m
}

func TestDeadLetterOriginalIsCopied(t *testing.T) {
	b, err := Marshal(&DeadLetter{Original: []byte("payload")})
	if err != nil {
		t.Fatal(err)
	}
	var dl DeadLetter
	if err := Unmarshal(b, &dl); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X' // a Kafka client reuses its fetch buffers
	}
	if string(dl.Original) != "payload" {
		t.Fatalf("Original aliases the input: %q", dl.Original)
	}
}

func TestUnmarshalReplacesTarget(t *testing.T) {
	b, _ := Marshal(&LabelEvent{RequestID: "new"})
	l := LabelEvent{RequestID: "old", Class: ptr("stale"), Source: "old"}
	if err := Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, &l, &LabelEvent{RequestID: "new"})
}

func TestMarshalErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want error
	}{
		{"nil", nil, ErrUnsupportedType},
		{"not an event", &Prediction{}, ErrUnsupportedType},
		{"nil pointer", (*InferenceEvent)(nil), ErrUnsupportedType},
		{"feature type", &InferenceEvent{Features: map[string]any{"x": []int{1}}}, ErrUnsupportedType},
		{"feature uint64 overflow", &InferenceEvent{Features: map[string]any{"x": uint64(1 << 63)}}, ErrUnsupportedType},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Marshal(c.v); !errors.Is(err, c.want) {
				t.Fatalf("Marshal: got %v, want %v", err, c.want)
			}
			if _, err := MarshalConfluent(c.v, 1); !errors.Is(err, c.want) {
				t.Fatalf("MarshalConfluent: got %v, want %v", err, c.want)
			}
		})
	}
	_, err := Marshal(&InferenceEvent{Features: map[string]any{"secret_feature": struct{ PII string }{"jane@example.com"}}})
	if err == nil || strings.Contains(err.Error(), "jane") {
		t.Fatalf("feature values must stay out of errors: %v", err)
	}
}

func inferenceHeader() []byte {
	h := evInference.header
	return h[:]
}

// inferencePrefix returns a single-object InferenceEvent with the five
// leading strings empty and event_time 0, followed by raw.
func inferencePrefix(raw ...byte) []byte {
	return append(append(inferenceHeader(), 0, 0, 0, 0, 0, 0), raw...)
}

func TestUnmarshalErrors(t *testing.T) {
	valid, _ := Marshal(goldenInference())
	metric, _ := Marshal(ptr(metricWindow("psi", true)))
	profileHeader := evReference.header
	maxVarint := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01} // zig-zag MinInt64

	for _, c := range []struct {
		name   string
		b      []byte
		target any
		limits Limits
		want   error
	}{
		{"empty", nil, &InferenceEvent{}, Limits{}, ErrMalformed},
		{"unknown framing", []byte{0x7b, '"', 'a'}, &InferenceEvent{}, Limits{}, ErrMalformed},
		{"short single-object header", valid[:7], &InferenceEvent{}, Limits{}, ErrMalformed},
		{"single-object version 2", append([]byte{0xC3, 0x02}, valid[2:]...), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"unknown fingerprint", append([]byte{0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}, valid[10:]...), &InferenceEvent{}, Limits{}, ErrUnknownSchema},
		{"short confluent header", []byte{0, 0, 1}, &InferenceEvent{}, Limits{}, ErrMalformed},
		{"unknown registry id", append([]byte{0, 0, 0, 0, 9}, valid[10:]...), &InferenceEvent{}, Limits{}, ErrUnknownSchema},
		{"wrong event type", valid, &LabelEvent{}, Limits{}, ErrWrongType},
		{"nil target", valid, nil, Limits{}, ErrUnsupportedType},
		{"non-pointer target", valid, InferenceEvent{}, Limits{}, ErrUnsupportedType},
		{"nil pointer target", valid, (*InferenceEvent)(nil), Limits{}, ErrUnsupportedType},
		{"foreign target", valid, &Prediction{}, Limits{}, ErrUnsupportedType},
		{"trailing byte", append(append([]byte{}, valid...), 0), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"huge string length", append(inferenceHeader(), 0xfe, 0xff, 0xff, 0xff, 0x0f), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"negative string length", append(inferenceHeader(), 0x01), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"huge map count", inferencePrefix(0xfe, 0xff, 0xff, 0xff, 0x0f), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"map count MinInt64", inferencePrefix(maxVarint...), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"negative block size", inferencePrefix(0x01, 0x01), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"huge array count", append(profileHeader[:], 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f), &ReferenceProfile{}, Limits{}, ErrMalformed},
		{"overlong varint", inferencePrefix(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"varint over 64 bits", inferencePrefix(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"union index out of range", inferencePrefix(0x02, 0x02, 'k', 0x0a), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"negative union index", inferencePrefix(0x02, 0x02, 'k', 0x01), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"boolean 2", inferencePrefix(0x02, 0x02, 'k', 0x08, 0x02, 0x00), &InferenceEvent{}, Limits{}, ErrMalformed},
		{"int over 32 bits", withMetricRevision(metric, 0x80, 0x80, 0x80, 0x80, 0x10), &MetricWindow{}, Limits{}, ErrMalformed},
		{"too many bytes", valid, &InferenceEvent{}, Limits{MaxBytes: 64}, ErrTooLarge},
		{"too many items", valid, &InferenceEvent{}, Limits{MaxItems: 5}, ErrTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := NewDecoder(WithLimits(c.limits)).Unmarshal(c.b, c.target)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			t.Log(err)
		})
	}
}

// withMetricRevision replaces the trailing revision int of an encoded
// MetricWindow.
func withMetricRevision(b []byte, rev ...byte) []byte {
	return append(append([]byte{}, b[:len(b)-1]...), rev...)
}

// TestTruncated cuts every encoding at every length.
func TestTruncated(t *testing.T) {
	for _, c := range roundTripCases() {
		if strings.Contains(c.name, "extremes") {
			continue // 180 KB of prefixes, nothing new
		}
		b, _ := Marshal(c.in)
		for n := range len(b) {
			if err := Unmarshal(b[:n], newOf(c.in)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s cut at %d/%d: got %v, want ErrMalformed", c.name, n, len(b), err)
			}
		}
	}
}

// TestHostileCountIsCheap shows why the guard exists: goavro alone
// preallocates 2^31-2 slots (32 GiB, a fatal out-of-memory) for this 18-byte
// ReferenceProfile.
func TestHostileCountIsCheap(t *testing.T) {
	h := evReference.header
	b := append(h[:], 0, 0, 0, 0xfc, 0xff, 0xff, 0xff, 0x0f) // features: 2^31-2 items
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if err := Unmarshal(b, &ReferenceProfile{}); !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("%d bytes allocated to refuse a hostile count 10 times", n)
	}
}

func TestSchemaAPI(t *testing.T) {
	names := Names()
	if len(names) != 7 {
		t.Fatalf("Names: %v", names)
	}
	for _, n := range names {
		short := strings.TrimPrefix(n, Namespace+".")
		full, err := Schema(n)
		if err != nil {
			t.Fatal(err)
		}
		byShort, err := Schema(short)
		if err != nil || byShort != full {
			t.Fatalf("Schema(%q): %v", short, err)
		}
		fp, err := Fingerprint(full)
		if err != nil {
			t.Fatal(err)
		}
		if eventNames[n].cur.fingerprint != fp {
			t.Fatalf("%s: fingerprint mismatch", n)
		}
		h := eventNames[n].header
		if got := binary.LittleEndian.Uint64(h[2:]); got != fp {
			t.Fatalf("%s: header carries %x, want %x", n, got, fp)
		}
	}
	if _, err := Schema("Nope"); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("Schema(Nope): %v", err)
	}
	if _, err := Fingerprint("{"); !errors.Is(err, ErrInvalidSchema) {
		t.Fatalf("Fingerprint of bad JSON: %v", err)
	}
	if n, err := NameOf(Trigger{}); err != nil || n != "dev.driftline.Trigger" {
		t.Fatalf("NameOf: %q %v", n, err)
	}
	if _, err := NameOf(42); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("NameOf(42): %v", err)
	}
	// Trigger embeds MetricWindow from its own file: one definition, the
	// same fields.
	trig, _ := Schema("Trigger")
	if strings.Count(trig, `"name":"MetricWindow"`) != 1 {
		t.Fatalf("Trigger schema should define MetricWindow once: %s", trig)
	}
	if !reflect.DeepEqual(fieldNames(evTrigger.reader.field("evidence").typ.items), fieldNames(evMetric.reader)) {
		t.Fatal("Trigger.evidence items differ from MetricWindow")
	}
}

func fieldNames(n *node) []string {
	var s []string
	for _, f := range n.fields {
		s = append(s, f.name+":"+f.typ.key)
	}
	return s
}

func TestResolver(t *testing.T) {
	inference, _ := Schema("InferenceEvent")
	ev := goldenInference()
	b, _ := MarshalConfluent(ev, 5)

	t.Run("concurrent lookups share one call and are cached", func(t *testing.T) {
		var calls atomic.Int32
		release := make(chan struct{})
		d := NewDecoder(WithResolver(func(ctx context.Context, id uint32) (string, error) {
			calls.Add(1)
			<-release
			if id != 5 {
				t.Errorf("resolver asked for id %d", id)
			}
			return inference, nil
		}))
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				var got InferenceEvent
				if err := d.Unmarshal(b, &got); err != nil {
					t.Error(err)
				}
			})
		}
		close(release)
		wg.Wait()
		var got InferenceEvent
		if err := d.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		assertEqual(t, &got, ev)
		if n := calls.Load(); n != 1 {
			t.Fatalf("resolver called %d times", n)
		}
		// The schema is now known by fingerprint too.
		if _, ok := d.tables().byID[5]; !ok {
			t.Fatal("id not cached")
		}
	})

	t.Run("errors pass through and are retried", func(t *testing.T) {
		outage := errors.New("registry unavailable")
		var calls atomic.Int32
		d := NewDecoder(WithResolver(func(ctx context.Context, id uint32) (string, error) {
			if calls.Add(1) == 1 {
				return "", outage
			}
			return inference, nil
		}))
		var got InferenceEvent
		err := d.Unmarshal(b, &got)
		if !errors.Is(err, outage) || errors.Is(err, ErrUnknownSchema) {
			t.Fatalf("got %v, want the resolver's error only", err)
		}
		if err := d.Unmarshal(b, &got); err != nil {
			t.Fatalf("second attempt: %v", err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		d := NewDecoder(WithResolver(func(ctx context.Context, id uint32) (string, error) {
			return "", errors.Join(ErrUnknownSchema, errors.New("subject not found"))
		}))
		if err := d.Unmarshal(b, &InferenceEvent{}); !errors.Is(err, ErrUnknownSchema) {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("foreign schema is refused once", func(t *testing.T) {
		var calls atomic.Int32
		d := NewDecoder(WithResolver(func(ctx context.Context, id uint32) (string, error) {
			calls.Add(1)
			return `{"type":"record","name":"com.acme.Order","fields":[{"name":"id","type":"string"}]}`, nil
		}))
		for range 3 {
			if err := d.Unmarshal(b, &InferenceEvent{}); !errors.Is(err, ErrIncompatible) {
				t.Fatalf("got %v", err)
			}
		}
		if calls.Load() != 1 {
			t.Fatalf("resolver called %d times for an immutable id", calls.Load())
		}
	})

	t.Run("context", func(t *testing.T) {
		d := NewDecoder(WithResolver(func(ctx context.Context, id uint32) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		}))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := d.UnmarshalContext(ctx, b, &InferenceEvent{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestRegisterID(t *testing.T) {
	inference, _ := Schema("InferenceEvent")
	label, _ := Schema("LabelEvent")
	d := NewDecoder()
	if err := d.RegisterID(1, inference); err != nil {
		t.Fatal(err)
	}
	if err := d.RegisterID(1, inference); err != nil {
		t.Fatalf("registering the same schema again: %v", err)
	}
	if err := d.RegisterID(1, label); err == nil {
		t.Fatal("rebinding an id to another schema must fail")
	}
	if err := d.RegisterID(2, "not json"); !errors.Is(err, ErrInvalidSchema) {
		t.Fatalf("got %v", err)
	}
	// A zero Decoder works.
	var zero Decoder
	b, _ := Marshal(goldenInference())
	if err := zero.Unmarshal(b, &InferenceEvent{}); err != nil {
		t.Fatal(err)
	}
}
