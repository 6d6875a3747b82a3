package schemas

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Marshal encodes an event (one of the seven structs, or a pointer to one)
// with its current schema in Avro single-object encoding: C3 01, the
// schema's 8-byte little-endian CRC-64-AVRO fingerprint, then the body.
//
// The body is written here rather than by goavro, whose encoder walks Go maps
// in random order: the same event would get different bytes from run to run
// (no golden files, no byte-level comparison of re-encoded records) and cost
// an allocation per union value. Map entries are written in key order, so
// equal events encode to equal bytes. The tests decode every encoding with
// goavro to prove the two agree.
func Marshal(v any) ([]byte, error) {
	et := eventOf(v)
	if et == nil {
		return nil, fmt.Errorf("%w: cannot marshal %T", ErrUnsupportedType, v)
	}
	return encode(et, et.header[:], v, nil)
}

// AppendMarshal appends Marshal(v) to dst and returns the extended slice,
// for callers that place encodings in buffers of their own (the adapter
// puts a record's key and value in one); dst is unchanged on an error.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	et := eventOf(v)
	if et == nil {
		return dst, fmt.Errorf("%w: cannot marshal %T", ErrUnsupportedType, v)
	}
	return encode(et, et.header[:], v, dst)
}

// MarshalConfluent encodes an event with its current schema in the Confluent
// wire format: 00, the 4-byte big-endian schema id, then the body. schemaID
// is the id a Confluent-compatible registry assigned to Schema(name).
func MarshalConfluent(v any, schemaID uint32) ([]byte, error) {
	et := eventOf(v)
	if et == nil {
		return nil, fmt.Errorf("%w: cannot marshal %T", ErrUnsupportedType, v)
	}
	var h [5]byte
	binary.BigEndian.PutUint32(h[1:], schemaID)
	return encode(et, h[:], v, nil)
}

var encoders = sync.Pool{New: func() any { return &encoder{buf: make([]byte, 0, 1024)} }}

// encode appends the encoding to dst, or returns it in a slice of its own
// when dst is nil.
func encode(et *eventType, header []byte, v any, dst []byte) ([]byte, error) {
	e := encoders.Get().(*encoder)
	defer e.release()
	e.buf = append(e.buf[:0], header...)
	var err error
	switch v := v.(type) {
	case *InferenceEvent:
		err = v.write(e)
	case InferenceEvent:
		err = v.write(e)
	case *LabelEvent:
		v.write(e)
	case LabelEvent:
		v.write(e)
	case *ReferenceProfile:
		v.write(e)
	case ReferenceProfile:
		v.write(e)
	case *WindowPartial:
		v.write(e)
	case WindowPartial:
		v.write(e)
	case *MetricWindow:
		v.write(e)
	case MetricWindow:
		v.write(e)
	case *Trigger:
		v.write(e)
	case Trigger:
		v.write(e)
	case *DeadLetter:
		v.write(e)
	case DeadLetter:
		v.write(e)
	}
	if err != nil {
		return dst, fmt.Errorf("marshal %s: %w", et.short, err)
	}
	// One copy: the pooled buffer goes back for the next event.
	if dst == nil {
		dst = make([]byte, 0, len(e.buf)) // right-sized
	}
	return append(dst, e.buf...), nil
}

// encoder appends Avro binary encodings.
type encoder struct {
	buf  []byte
	keys []string // scratch for sorting map keys; maps never nest in these schemas
	// order is the last feature map's keys, sorted. The events of a stream
	// carry the same feature names, so checking that a map holds exactly
	// these keys (one lookup each, which the encoding needs anyway) replaces
	// collecting and sorting them, 7 % of the adapter's CPU in the load
	// benchmark's profile. It keeps one event's names alive per pooled
	// encoder, at most maxOrderKeys of them.
	order []string
}

// maxOrderKeys bounds the feature names an encoder remembers.
const maxOrderKeys = 1024

func (e *encoder) release() {
	if cap(e.buf) > 1<<20 {
		return // one huge profile should not pin its buffer forever
	}
	clear(e.keys) // drop references to the caller's strings
	e.keys = e.keys[:0]
	encoders.Put(e)
}

// The encoder's methods append to e.buf. The hot event, InferenceEvent,
// is written with the append functions on a local slice instead: storing
// e.buf back after every value costs a GC write barrier each while a
// collection runs, which in the adapter is most of the time.

func (e *encoder) long(v int64) { e.buf = appendLong(e.buf, v) }

func appendLong(b []byte, v int64) []byte {
	return binary.AppendUvarint(b, uint64(v<<1)^uint64(v>>63)) // zig-zag
}

// Avro's int uses the same zig-zag varint; sign extension keeps it identical.
func (e *encoder) int(v int32) { e.long(int64(v)) }

func (e *encoder) double(v float64) { e.buf = appendDouble(e.buf, v) }

func appendDouble(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

func (e *encoder) boolean(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

func (e *encoder) str(s string) { e.buf = appendStr(e.buf, s) }

func appendStr(b []byte, s string) []byte {
	return append(appendLong(b, int64(len(s))), s...)
}

func (e *encoder) bytes(b []byte) {
	e.long(int64(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *encoder) time(t time.Time) { e.long(t.UnixMilli()) }

// Unions are written as the branch index, then the value; every nullable
// field here is [null, T], so null is 0 and a value is 1.

func (e *encoder) optDouble(p *float64) { e.buf = appendOptDouble(e.buf, p) }

func appendOptDouble(b []byte, p *float64) []byte {
	if p == nil {
		return appendLong(b, 0)
	}
	return appendDouble(appendLong(b, 1), *p)
}

func (e *encoder) optString(p *string) { e.buf = appendOptString(e.buf, p) }

func appendOptString(b []byte, p *string) []byte {
	if p == nil {
		return appendLong(b, 0)
	}
	return appendStr(appendLong(b, 1), *p)
}

// sortedKeys returns m's keys in order, in the encoder's scratch slice.
func sortedKeys[V any](e *encoder, m map[string]V) []string {
	keys := e.keys[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.keys = keys
	return keys
}

// Maps and arrays are one block with the item count, then the 0 that ends
// them; empty ones are only the 0.

func (e *encoder) mapString(m map[string]string) { e.buf = e.appendMapString(e.buf, m) }

// appendMapString appends m to b; e lends its scratch for the keys.
func (e *encoder) appendMapString(b []byte, m map[string]string) []byte {
	if len(m) > 0 {
		b = appendLong(b, int64(len(m)))
		for _, k := range sortedKeys(e, m) {
			b = appendStr(appendStr(b, k), m[k])
		}
	}
	return appendLong(b, 0)
}

func (e *encoder) mapLong(m map[string]int64) {
	if len(m) > 0 {
		e.long(int64(len(m)))
		for _, k := range sortedKeys(e, m) {
			e.str(k)
			e.long(m[k])
		}
	}
	e.long(0)
}

func (e *encoder) mapDouble(m map[string]float64) { e.buf = e.appendMapDouble(e.buf, m) }

func (e *encoder) appendMapDouble(b []byte, m map[string]float64) []byte {
	if len(m) > 0 {
		b = appendLong(b, int64(len(m)))
		for _, k := range sortedKeys(e, m) {
			b = appendDouble(appendStr(b, k), m[k])
		}
	}
	return appendLong(b, 0)
}

// appendOptMapDouble appends a [null, map<double>]: nil is null, an empty
// map is an empty map.
func (e *encoder) appendOptMapDouble(b []byte, m map[string]float64) []byte {
	if m == nil {
		return appendLong(b, 0)
	}
	return e.appendMapDouble(appendLong(b, 1), m)
}

func (e *encoder) doubles(a []float64) {
	if len(a) > 0 {
		e.long(int64(len(a)))
		for _, v := range a {
			e.double(v)
		}
	}
	e.long(0)
}

func (e *encoder) longs(a []int64) {
	if len(a) > 0 {
		e.long(int64(len(a)))
		for _, v := range a {
			e.long(v)
		}
	}
	e.long(0)
}

// Branch indexes of the feature value union
// ["null", "double", "long", "string", "boolean"].
const (
	featureNull = iota
	featureDouble
	featureLong
	featureString
	featureBoolean
)

// appendFeatures appends the feature map in key order. Besides the five
// documented value types it takes Go's other integer and float types,
// which adapters produce naturally; they decode as int64 and float64.
func (e *encoder) appendFeatures(b []byte, m map[string]any) ([]byte, error) {
	if len(m) == 0 {
		return appendLong(b, 0), nil
	}
	if len(m) == len(e.order) {
		// The keys of the previous map: if m has each of them, having as
		// many keys, it has no other, and the order is the sorted one.
		// On a missing key or an error the block is written again the
		// general way, so that the bytes and the error (that of the first
		// bad key in order) are the same as without this path.
		start := len(b)
		b = appendLong(b, int64(len(m)))
		ok := true
		for _, k := range e.order {
			v, found := m[k]
			if !found {
				ok = false
				break
			}
			var err error
			if b, err = appendFeature(b, k, v); err != nil {
				ok = false
				break
			}
		}
		if ok {
			return appendLong(b, 0), nil
		}
		b = b[:start]
	}
	b = appendLong(b, int64(len(m)))
	keys := sortedKeys(e, m)
	for _, k := range keys {
		var err error
		if b, err = appendFeature(b, k, m[k]); err != nil {
			return b, err
		}
	}
	if len(keys) <= maxOrderKeys {
		e.order = append(e.order[:0], keys...)
	}
	return appendLong(b, 0), nil
}

// appendFeature appends one feature's key and value.
func appendFeature(b []byte, k string, v any) ([]byte, error) {
	b = appendStr(b, k)
	switch v := v.(type) {
	case nil:
		b = appendLong(b, featureNull)
	case float64:
		b = appendDouble(appendLong(b, featureDouble), v)
	case float32:
		b = appendDouble(appendLong(b, featureDouble), float64(v))
	case int64:
		b = appendLong(appendLong(b, featureLong), v)
	case int:
		b = appendLong(appendLong(b, featureLong), int64(v))
	case int32:
		b = appendLong(appendLong(b, featureLong), int64(v))
	case int16:
		b = appendLong(appendLong(b, featureLong), int64(v))
	case int8:
		b = appendLong(appendLong(b, featureLong), int64(v))
	case uint32:
		b = appendLong(appendLong(b, featureLong), int64(v))
	case uint16:
		b = appendLong(appendLong(b, featureLong), int64(v))
	case uint8:
		b = appendLong(appendLong(b, featureLong), int64(v))
	case uint64:
		if v > math.MaxInt64 {
			return b, fmt.Errorf("%w: feature %q: uint64 overflows Avro long", ErrUnsupportedType, k)
		}
		b = appendLong(appendLong(b, featureLong), int64(v))
	case uint:
		if uint64(v) > math.MaxInt64 {
			return b, fmt.Errorf("%w: feature %q: uint overflows Avro long", ErrUnsupportedType, k)
		}
		b = appendLong(appendLong(b, featureLong), int64(v))
	case string:
		b = appendStr(appendLong(b, featureString), v)
	case bool:
		b = appendLong(b, featureBoolean)
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	default:
		// The value itself stays out of the message: no feature values in
		// logs.
		return b, fmt.Errorf("%w: feature %q has type %T, want nil, float64, int64, string or bool", ErrUnsupportedType, k, v)
	}
	return b, nil
}

// The write methods follow the field order of the .avsc files exactly.

func (v *InferenceEvent) write(e *encoder) error {
	b, err := v.append(e, e.buf)
	e.buf = b
	return err
}

// append appends the body to b; e lends its scratch and its remembered
// feature order.
func (v *InferenceEvent) append(e *encoder, b []byte) ([]byte, error) {
	b = appendStr(b, v.EventID)
	b = appendStr(b, v.RequestID)
	b = appendStr(b, v.ModelID)
	b = appendStr(b, v.ModelVersion)
	b = appendStr(b, v.Variant)
	b = appendLong(b, v.EventTime.UnixMilli())
	b, err := e.appendFeatures(b, v.Features)
	if err != nil {
		return b, err
	}
	b = appendOptDouble(b, v.Prediction.Score)
	b = appendOptString(b, v.Prediction.Class)
	b = appendOptDouble(b, v.Prediction.Value)
	b = e.appendOptMapDouble(b, v.Prediction.Probabilities)
	b = appendDouble(b, v.LatencyMS)
	if c := v.Cost; c == nil {
		b = appendLong(b, 0)
	} else {
		b = appendLong(b, 1)
		b = appendLong(b, c.InputTokens)
		b = appendLong(b, c.OutputTokens)
		b = appendDouble(b, c.CostUSD)
	}
	b = e.appendMapString(b, v.Segments)
	b = e.appendOptMapDouble(b, v.Attributions)
	b = appendStr(b, v.Source)
	return appendLong(b, int64(v.SchemaVersion)), nil
}

func (v *LabelEvent) write(e *encoder) {
	e.str(v.RequestID)
	e.optString(v.Class)
	e.optDouble(v.Value)
	e.time(v.LabelTime)
	e.str(v.Source)
}

func (v *ReferenceProfile) write(e *encoder) {
	e.str(v.ReferenceID)
	e.str(v.ModelID)
	e.str(v.ModelVersion)
	if len(v.Features) > 0 {
		e.long(int64(len(v.Features)))
		for i := range v.Features {
			f := &v.Features[i]
			e.str(f.Name)
			e.str(f.Kind)
			e.doubles(f.BinEdges)
			e.longs(f.BinCounts)
			e.doubles(f.QuantileEdges)
			e.longs(f.QuantileCounts)
			e.mapLong(f.Categories)
			e.long(f.Count)
			e.long(f.Missing)
			e.double(f.Min)
			e.double(f.Max)
			e.double(f.Mean)
			e.double(f.Std)
			e.long(f.UniqueCount)
		}
	}
	e.long(0)
	e.long(v.RowCount)
	e.time(v.CreatedAt)
}

func (v *WindowPartial) write(e *encoder) {
	e.str(v.ModelID)
	e.str(v.ModelVersion)
	e.str(v.Variant)
	e.str(v.Segment)
	e.time(v.WindowStart)
	e.time(v.WindowEnd)
	e.str(v.SourceTopic)
	e.int(v.SourcePartition)
	e.int(v.PartitionCount)
	e.time(v.Watermark)
	e.int(v.Revision)
	e.long(v.LateEvents)
	e.long(v.Count)
	e.str(v.ReferenceID)
	if len(v.Features) > 0 {
		e.long(int64(len(v.Features)))
		for i := range v.Features {
			s := &v.Features[i]
			e.str(s.Name)
			e.str(s.Kind)
			e.long(s.Count)
			e.long(s.Missing)
			e.long(s.TypeMismatches)
			e.double(s.Sum)
			e.double(s.SumSquares)
			e.double(s.Min)
			e.double(s.Max)
			e.longs(s.BinCounts)
			e.longs(s.QuantileCounts)
			e.mapLong(s.Categories)
			e.long(s.Other)
			if s.QuantileSketch == nil {
				e.long(0)
			} else {
				e.long(1)
				e.bytes(s.QuantileSketch)
			}
		}
	}
	e.long(0)
	e.str(v.Family)
	e.mapDouble(v.Counters)
	e.boolean(v.Idle)
	e.long(v.FirstOffset)
	e.long(v.LastOffset)
}

func (v *MetricWindow) write(e *encoder) {
	e.str(v.ModelID)
	e.str(v.ModelVersion)
	e.str(v.Variant)
	e.str(v.Segment)
	e.time(v.WindowStart)
	e.time(v.WindowEnd)
	e.str(v.Family)
	e.str(v.Feature)
	e.str(v.Metric)
	e.double(v.Value)
	e.optDouble(v.Threshold)
	e.optDouble(v.PValue)
	e.boolean(v.Detected)
	e.long(v.SampleCount)
	e.long(v.ReferenceCount)
	e.str(v.ReferenceID)
	e.time(v.ComputedAt)
	e.int(v.Revision)
}

func (v *Trigger) write(e *encoder) {
	e.str(v.TriggerID)
	e.str(v.ModelID)
	e.str(v.ModelVersion)
	e.str(v.Policy)
	e.str(v.Action)
	e.str(v.Severity)
	if len(v.Evidence) > 0 {
		e.long(int64(len(v.Evidence)))
		for i := range v.Evidence {
			v.Evidence[i].write(e)
		}
	}
	e.long(0)
	e.time(v.CreatedAt)
	e.time(v.CooldownUntil)
}

func (v *DeadLetter) write(e *encoder) {
	e.bytes(v.Original)
	e.str(v.SourceTopic)
	e.int(v.SourcePartition)
	e.long(v.SourceOffset)
	e.mapString(v.Headers)
	e.str(v.Stage)
	e.str(v.ErrorClass)
	e.str(v.ErrorMessage)
	e.time(v.ReceivedAt)
}
