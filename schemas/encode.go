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
	return encode(et, et.header[:], v)
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
	return encode(et, h[:], v)
}

var encoders = sync.Pool{New: func() any { return &encoder{buf: make([]byte, 0, 1024)} }}

func encode(et *eventType, header []byte, v any) ([]byte, error) {
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
		return nil, fmt.Errorf("marshal %s: %w", et.short, err)
	}
	// One right-sized copy: the pooled buffer goes back for the next event.
	return append(make([]byte, 0, len(e.buf)), e.buf...), nil
}

// encoder appends Avro binary encodings.
type encoder struct {
	buf  []byte
	keys []string // scratch for sorting map keys; maps never nest in these schemas
}

func (e *encoder) release() {
	if cap(e.buf) > 1<<20 {
		return // one huge profile should not pin its buffer forever
	}
	clear(e.keys) // drop references to the caller's strings
	e.keys = e.keys[:0]
	encoders.Put(e)
}

func (e *encoder) long(v int64) {
	e.buf = binary.AppendUvarint(e.buf, uint64(v<<1)^uint64(v>>63)) // zig-zag
}

// Avro's int uses the same zig-zag varint; sign extension keeps it identical.
func (e *encoder) int(v int32) { e.long(int64(v)) }

func (e *encoder) double(v float64) {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v))
}

func (e *encoder) boolean(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

func (e *encoder) str(s string) {
	e.long(int64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) bytes(b []byte) {
	e.long(int64(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *encoder) time(t time.Time) { e.long(t.UnixMilli()) }

// Unions are written as the branch index, then the value; every nullable
// field here is [null, T], so null is 0 and a value is 1.

func (e *encoder) optDouble(p *float64) {
	if p == nil {
		e.long(0)
		return
	}
	e.long(1)
	e.double(*p)
}

func (e *encoder) optString(p *string) {
	if p == nil {
		e.long(0)
		return
	}
	e.long(1)
	e.str(*p)
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

func (e *encoder) mapString(m map[string]string) {
	if len(m) > 0 {
		e.long(int64(len(m)))
		for _, k := range sortedKeys(e, m) {
			e.str(k)
			e.str(m[k])
		}
	}
	e.long(0)
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

func (e *encoder) mapDouble(m map[string]float64) {
	if len(m) > 0 {
		e.long(int64(len(m)))
		for _, k := range sortedKeys(e, m) {
			e.str(k)
			e.double(m[k])
		}
	}
	e.long(0)
}

// optMapDouble writes a [null, map<double>]: nil is null, an empty map is
// an empty map.
func (e *encoder) optMapDouble(m map[string]float64) {
	if m == nil {
		e.long(0)
		return
	}
	e.long(1)
	e.mapDouble(m)
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

// features writes the feature map. Besides the five documented value types
// it takes Go's other integer and float types, which adapters produce
// naturally; they decode as int64 and float64.
func (e *encoder) features(m map[string]any) error {
	if len(m) > 0 {
		e.long(int64(len(m)))
		for _, k := range sortedKeys(e, m) {
			e.str(k)
			switch v := m[k].(type) {
			case nil:
				e.long(featureNull)
			case float64:
				e.long(featureDouble)
				e.double(v)
			case float32:
				e.long(featureDouble)
				e.double(float64(v))
			case int64:
				e.long(featureLong)
				e.long(v)
			case int:
				e.long(featureLong)
				e.long(int64(v))
			case int32:
				e.long(featureLong)
				e.long(int64(v))
			case int16:
				e.long(featureLong)
				e.long(int64(v))
			case int8:
				e.long(featureLong)
				e.long(int64(v))
			case uint32:
				e.long(featureLong)
				e.long(int64(v))
			case uint16:
				e.long(featureLong)
				e.long(int64(v))
			case uint8:
				e.long(featureLong)
				e.long(int64(v))
			case uint64:
				if v > math.MaxInt64 {
					return fmt.Errorf("%w: feature %q: uint64 overflows Avro long", ErrUnsupportedType, k)
				}
				e.long(featureLong)
				e.long(int64(v))
			case uint:
				if uint64(v) > math.MaxInt64 {
					return fmt.Errorf("%w: feature %q: uint overflows Avro long", ErrUnsupportedType, k)
				}
				e.long(featureLong)
				e.long(int64(v))
			case string:
				e.long(featureString)
				e.str(v)
			case bool:
				e.long(featureBoolean)
				e.boolean(v)
			default:
				// The value itself stays out of the message: no feature
				// values in logs.
				return fmt.Errorf("%w: feature %q has type %T, want nil, float64, int64, string or bool", ErrUnsupportedType, k, v)
			}
		}
	}
	e.long(0)
	return nil
}

// The write methods follow the field order of the .avsc files exactly.

func (v *InferenceEvent) write(e *encoder) error {
	e.str(v.EventID)
	e.str(v.RequestID)
	e.str(v.ModelID)
	e.str(v.ModelVersion)
	e.str(v.Variant)
	e.time(v.EventTime)
	if err := e.features(v.Features); err != nil {
		return err
	}
	e.optDouble(v.Prediction.Score)
	e.optString(v.Prediction.Class)
	e.optDouble(v.Prediction.Value)
	e.optMapDouble(v.Prediction.Probabilities)
	e.double(v.LatencyMS)
	if v.Cost == nil {
		e.long(0)
	} else {
		e.long(1)
		e.long(v.Cost.InputTokens)
		e.long(v.Cost.OutputTokens)
		e.double(v.Cost.CostUSD)
	}
	e.mapString(v.Segments)
	e.optMapDouble(v.Attributions)
	e.str(v.Source)
	e.int(v.SchemaVersion)
	return nil
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
