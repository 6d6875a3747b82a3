package schemas

import (
	"errors"
	"fmt"
	"time"
)

// goavro decodes with the writer's schema only and has no reader/writer
// resolution, so it happens here. rd is one record goavro decoded: reader
// fields are looked up by name in the writer's record, a field the writer
// lacks takes the reader schema's default (kept in goavro's native form, so
// it converts through the same functions), and writer fields the reader does
// not ask for are never looked at, i.e. dropped. compile has already checked
// that the writer resolves, so the errors here are for goavro surprises.
type rd struct {
	w, r *node          // writer and reader record
	m    map[string]any // goavro's native record, keyed by writer field name
	err  *error         // the first error, shared by the whole event
	at   string         // path for errors, e.g. InferenceEvent.prediction
}

func (x *rd) fail(name string, err error) {
	if *x.err == nil {
		*x.err = fmt.Errorf("%w: %s.%s: %v", ErrIncompatible, x.at, name, err)
	}
}

// value returns a field's schema and native value: the writer's if it has
// the field, else the reader's default.
func (x *rd) value(name string) (*node, any, bool) {
	if *x.err != nil {
		return nil, nil, false
	}
	if wf := x.w.field(name); wf != nil {
		v, ok := x.m[name]
		if !ok {
			x.fail(name, errors.New("goavro left the field out"))
		}
		return wf.typ, v, ok
	}
	rf := x.r.field(name)
	if rf == nil || !rf.hasDef {
		x.fail(name, errors.New("the writer lacks the field and the reader has no default"))
		return nil, nil, false
	}
	return rf.typ, rf.native, true
}

// read reads one field through a converter.
func read[T any](x *rd, name string, conv func(*node, any) (T, error)) T {
	var t T
	n, v, ok := x.value(name)
	if !ok {
		return t
	}
	t, err := conv(n, v)
	if err != nil {
		x.fail(name, err)
	}
	return t
}

// child returns the rd for a record-typed field; null reports a null union
// branch.
func (x *rd) child(name string) (c *rd, null bool) {
	n, v, ok := x.value(name)
	if !ok {
		return nil, false
	}
	n, v, err := unwrap(n, v)
	if err != nil {
		x.fail(name, err)
		return nil, false
	}
	if n.kind == kindNull {
		return nil, true
	}
	m, ok := v.(map[string]any)
	rn := readerRecord(x.r.field(name))
	if !ok || n.kind != kindRecord || rn == nil {
		x.fail(name, mismatch(n, "record"))
		return nil, false
	}
	return &rd{w: n, r: rn, m: m, err: x.err, at: x.at + "." + name}, false
}

func readRecord[T any](x *rd, name string, fill func(*T, *rd)) T {
	var t T
	c, null := x.child(name)
	if null {
		x.fail(name, errors.New("null for a record that is not nullable"))
	} else if c != nil {
		fill(&t, c)
	}
	return t
}

func readOptRecord[T any](x *rd, name string, fill func(*T, *rd)) *T {
	c, _ := x.child(name)
	if c == nil {
		return nil
	}
	t := new(T)
	fill(t, c)
	return t
}

func readRecords[T any](x *rd, name string, fill func(*T, *rd)) []T {
	n, v, ok := x.value(name)
	if !ok {
		return nil
	}
	n, v, err := unwrap(n, v)
	if err != nil {
		x.fail(name, err)
		return nil
	}
	a, ok := v.([]any)
	rn := readerRecord(x.r.field(name))
	if !ok || n.kind != kindArray || rn == nil {
		x.fail(name, mismatch(n, "array of records"))
		return nil
	}
	if len(a) == 0 {
		return nil
	}
	out := make([]T, len(a))
	at := x.at + "." + name
	for i, e := range a {
		en, ev, err := unwrap(n.items, e)
		m, ok := ev.(map[string]any)
		if err != nil || !ok || en.kind != kindRecord {
			x.fail(fmt.Sprintf("%s[%d]", name, i), mismatch(n.items, "record"))
			return nil
		}
		fill(&out[i], &rd{w: en, r: rn, m: m, err: x.err, at: at})
		if *x.err != nil {
			return nil
		}
	}
	return out
}

// readerRecord finds the record in a reader field's type, through a nullable
// union or an array.
func readerRecord(f *field) *node {
	if f == nil {
		return nil
	}
	n := f.typ
	if n.kind == kindArray {
		n = n.items
	}
	if n.kind == kindUnion {
		for _, b := range n.branches {
			if b.kind == kindRecord {
				return b
			}
		}
	}
	if n.kind != kindRecord {
		return nil
	}
	return n
}

// unwrap resolves a union: goavro decodes null as nil and any other branch
// as a one-entry map from the branch's type name to the value.
func unwrap(n *node, v any) (*node, any, error) {
	if n.kind != kindUnion {
		return n, v, nil
	}
	if v == nil {
		for _, b := range n.branches {
			if b.kind == kindNull {
				return b, nil, nil
			}
		}
		return nil, nil, errors.New("null for a union without null")
	}
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for k, inner := range m {
			for _, b := range n.branches {
				if b.key == k {
					return b, inner, nil
				}
			}
		}
	}
	return nil, nil, fmt.Errorf("unexpected union value %T", v)
}

func mismatch(n *node, want string) error {
	return fmt.Errorf("cannot read %s as %s", n.key, want)
}

// The converters accept every native type goavro produces for a writer type
// that Avro lets the reader's type read (int as long, long or int as double,
// float as double, bytes as string and back).

func toString(n *node, v any) (string, error) {
	n, v, err := unwrap(n, v)
	if err != nil {
		return "", err
	}
	switch s := v.(type) {
	case string:
		return s, nil
	case []byte:
		return string(s), nil
	}
	return "", mismatch(n, "string")
}

func toBytes(n *node, v any) ([]byte, error) {
	n, v, err := unwrap(n, v)
	if err != nil {
		return nil, err
	}
	switch b := v.(type) {
	case []byte:
		if len(b) == 0 {
			return nil, nil
		}
		// goavro returns a slice of the input, which the caller may reuse
		// (a Kafka fetch buffer).
		return append([]byte(nil), b...), nil
	case string:
		if len(b) == 0 {
			return nil, nil
		}
		return []byte(b), nil
	}
	return nil, mismatch(n, "bytes")
}

func toLong(n *node, v any) (int64, error) {
	n, v, err := unwrap(n, v)
	if err != nil {
		return 0, err
	}
	switch i := v.(type) {
	case int64:
		return i, nil
	case int32:
		return int64(i), nil
	}
	return 0, mismatch(n, "long")
}

func toInt(n *node, v any) (int32, error) {
	n, v, err := unwrap(n, v)
	if err != nil {
		return 0, err
	}
	if i, ok := v.(int32); ok {
		return i, nil
	}
	return 0, mismatch(n, "int")
}

func toDouble(n *node, v any) (float64, error) {
	n, v, err := unwrap(n, v)
	if err != nil {
		return 0, err
	}
	switch f := v.(type) {
	case float64:
		return f, nil
	case float32:
		return float64(f), nil
	case int64:
		return float64(f), nil
	case int32:
		return float64(f), nil
	}
	return 0, mismatch(n, "double")
}

func toBool(n *node, v any) (bool, error) {
	n, v, err := unwrap(n, v)
	if err != nil {
		return false, err
	}
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return false, mismatch(n, "boolean")
}

// toTime reads timestamp-millis; a writer's plain long counts as
// milliseconds too, since logical types only annotate.
func toTime(n *node, v any) (time.Time, error) {
	n, v, err := unwrap(n, v)
	if err != nil {
		return time.Time{}, err
	}
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case int64:
		return time.UnixMilli(t).UTC(), nil
	}
	return time.Time{}, mismatch(n, "timestamp-millis")
}

// toFeature reads one InferenceEvent feature value. A writer branch goes to
// the reader branch of the same Go kind (int to long, float to double), not
// merely the first that Avro's promotion rules would allow.
func toFeature(n *node, v any) (any, error) {
	n, v, err := unwrap(n, v)
	if err != nil {
		return nil, err
	}
	switch f := v.(type) {
	case nil, float64, int64, string, bool:
		return f, nil
	case float32:
		return float64(f), nil
	case int32:
		return int64(f), nil
	case []byte:
		return string(f), nil
	case time.Time:
		return f.UnixMilli(), nil
	}
	return nil, mismatch(n, "feature value")
}

func mapOf[T any](conv func(*node, any) (T, error)) func(*node, any) (map[string]T, error) {
	return func(n *node, v any) (map[string]T, error) {
		n, v, err := unwrap(n, v)
		if err != nil {
			return nil, err
		}
		m, ok := v.(map[string]any)
		if !ok || n.kind != kindMap {
			return nil, mismatch(n, "map")
		}
		out := make(map[string]T, len(m))
		for k, x := range m {
			t, err := conv(n.items, x)
			if err != nil {
				return nil, fmt.Errorf("[%q]: %w", k, err)
			}
			out[k] = t
		}
		return out, nil
	}
}

func sliceOf[T any](conv func(*node, any) (T, error)) func(*node, any) ([]T, error) {
	return func(n *node, v any) ([]T, error) {
		n, v, err := unwrap(n, v)
		if err != nil {
			return nil, err
		}
		a, ok := v.([]any)
		if !ok || n.kind != kindArray {
			return nil, mismatch(n, "array")
		}
		if len(a) == 0 {
			return nil, nil
		}
		out := make([]T, len(a))
		for i, x := range a {
			if out[i], err = conv(n.items, x); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return out, nil
	}
}

// nullable reads a [null, T] union as T's zero value (a nil map) for null.
func nullable[T any](conv func(*node, any) (T, error)) func(*node, any) (T, error) {
	return func(n *node, v any) (T, error) {
		n, v, err := unwrap(n, v)
		if err != nil || n.kind == kindNull {
			var zero T
			return zero, err
		}
		return conv(n, v)
	}
}

// pointer reads a [null, T] union as a nil pointer for null.
func pointer[T any](conv func(*node, any) (T, error)) func(*node, any) (*T, error) {
	return func(n *node, v any) (*T, error) {
		n, v, err := unwrap(n, v)
		if err != nil || n.kind == kindNull {
			return nil, err
		}
		t, err := conv(n, v)
		if err != nil {
			return nil, err
		}
		return &t, nil
	}
}

var (
	toOptDouble    = pointer(toDouble)
	toOptString    = pointer(toString)
	toFeatures     = mapOf(toFeature)
	toMapString    = mapOf(toString)
	toMapLong      = mapOf(toLong)
	toMapDouble    = mapOf(toDouble)
	toOptMapDouble = nullable(mapOf(toDouble))
	toDoubles      = sliceOf(toDouble)
	toLongs        = sliceOf(toLong)
)

func (e *InferenceEvent) read(x *rd) {
	e.EventID = read(x, "event_id", toString)
	e.RequestID = read(x, "request_id", toString)
	e.ModelID = read(x, "model_id", toString)
	e.ModelVersion = read(x, "model_version", toString)
	e.Variant = read(x, "variant", toString)
	e.EventTime = read(x, "event_time", toTime)
	e.Features = read(x, "features", toFeatures)
	e.Prediction = readRecord(x, "prediction", (*Prediction).read)
	e.LatencyMS = read(x, "latency_ms", toDouble)
	e.Cost = readOptRecord(x, "cost", (*Cost).read)
	e.Segments = read(x, "segments", toMapString)
	e.Attributions = read(x, "attributions", toOptMapDouble)
	e.Source = read(x, "source", toString)
	e.SchemaVersion = read(x, "schema_version", toInt)
}

func (p *Prediction) read(x *rd) {
	p.Score = read(x, "score", toOptDouble)
	p.Class = read(x, "class", toOptString)
	p.Value = read(x, "value", toOptDouble)
	p.Probabilities = read(x, "probabilities", toOptMapDouble)
}

func (c *Cost) read(x *rd) {
	c.InputTokens = read(x, "input_tokens", toLong)
	c.OutputTokens = read(x, "output_tokens", toLong)
	c.CostUSD = read(x, "cost_usd", toDouble)
}

func (l *LabelEvent) read(x *rd) {
	l.RequestID = read(x, "request_id", toString)
	l.Class = read(x, "class", toOptString)
	l.Value = read(x, "value", toOptDouble)
	l.LabelTime = read(x, "label_time", toTime)
	l.Source = read(x, "source", toString)
}

func (p *ReferenceProfile) read(x *rd) {
	p.ReferenceID = read(x, "reference_id", toString)
	p.ModelID = read(x, "model_id", toString)
	p.ModelVersion = read(x, "model_version", toString)
	p.Features = readRecords(x, "features", (*FeatureProfile).read)
	p.RowCount = read(x, "row_count", toLong)
	p.CreatedAt = read(x, "created_at", toTime)
}

func (f *FeatureProfile) read(x *rd) {
	f.Name = read(x, "name", toString)
	f.Kind = read(x, "kind", toString)
	f.BinEdges = read(x, "bin_edges", toDoubles)
	f.BinCounts = read(x, "bin_counts", toLongs)
	f.QuantileEdges = read(x, "quantile_edges", toDoubles)
	f.QuantileCounts = read(x, "quantile_counts", toLongs)
	f.Categories = read(x, "categories", toMapLong)
	f.Count = read(x, "count", toLong)
	f.Missing = read(x, "missing", toLong)
	f.Min = read(x, "min", toDouble)
	f.Max = read(x, "max", toDouble)
	f.Mean = read(x, "mean", toDouble)
	f.Std = read(x, "std", toDouble)
	f.UniqueCount = read(x, "unique_count", toLong)
}

func (p *WindowPartial) read(x *rd) {
	p.ModelID = read(x, "model_id", toString)
	p.ModelVersion = read(x, "model_version", toString)
	p.Variant = read(x, "variant", toString)
	p.Segment = read(x, "segment", toString)
	p.WindowStart = read(x, "window_start", toTime)
	p.WindowEnd = read(x, "window_end", toTime)
	p.SourceTopic = read(x, "source_topic", toString)
	p.SourcePartition = read(x, "source_partition", toInt)
	p.PartitionCount = read(x, "partition_count", toInt)
	p.Watermark = read(x, "watermark", toTime)
	p.Revision = read(x, "revision", toInt)
	p.LateEvents = read(x, "late_events", toLong)
	p.Count = read(x, "count", toLong)
	p.ReferenceID = read(x, "reference_id", toString)
	p.Features = readRecords(x, "features", (*FeatureSketch).read)
	p.Family = read(x, "family", toString)
	p.Counters = read(x, "counters", toMapDouble)
	p.Idle = read(x, "idle", toBool)
	p.FirstOffset = read(x, "first_offset", toLong)
	p.LastOffset = read(x, "last_offset", toLong)
}

func (s *FeatureSketch) read(x *rd) {
	s.Name = read(x, "name", toString)
	s.Kind = read(x, "kind", toString)
	s.Count = read(x, "count", toLong)
	s.Missing = read(x, "missing", toLong)
	s.TypeMismatches = read(x, "type_mismatches", toLong)
	s.Sum = read(x, "sum", toDouble)
	s.SumSquares = read(x, "sum_squares", toDouble)
	s.Min = read(x, "min", toDouble)
	s.Max = read(x, "max", toDouble)
	s.BinCounts = read(x, "bin_counts", toLongs)
	s.QuantileCounts = read(x, "quantile_counts", toLongs)
	s.Categories = read(x, "categories", toMapLong)
	s.Other = read(x, "other", toLong)
	s.QuantileSketch = read(x, "quantile_sketch", nullable(toBytes))
}

func (m *MetricWindow) read(x *rd) {
	m.ModelID = read(x, "model_id", toString)
	m.ModelVersion = read(x, "model_version", toString)
	m.Variant = read(x, "variant", toString)
	m.Segment = read(x, "segment", toString)
	m.WindowStart = read(x, "window_start", toTime)
	m.WindowEnd = read(x, "window_end", toTime)
	m.Family = read(x, "family", toString)
	m.Feature = read(x, "feature", toString)
	m.Metric = read(x, "metric", toString)
	m.Value = read(x, "value", toDouble)
	m.Threshold = read(x, "threshold", toOptDouble)
	m.PValue = read(x, "p_value", toOptDouble)
	m.Detected = read(x, "detected", toBool)
	m.SampleCount = read(x, "sample_count", toLong)
	m.ReferenceCount = read(x, "reference_count", toLong)
	m.ReferenceID = read(x, "reference_id", toString)
	m.ComputedAt = read(x, "computed_at", toTime)
	m.Revision = read(x, "revision", toInt)
}

func (t *Trigger) read(x *rd) {
	t.TriggerID = read(x, "trigger_id", toString)
	t.ModelID = read(x, "model_id", toString)
	t.ModelVersion = read(x, "model_version", toString)
	t.Policy = read(x, "policy", toString)
	t.Action = read(x, "action", toString)
	t.Severity = read(x, "severity", toString)
	t.Evidence = readRecords(x, "evidence", (*MetricWindow).read)
	t.CreatedAt = read(x, "created_at", toTime)
	t.CooldownUntil = read(x, "cooldown_until", toTime)
}

func (d *DeadLetter) read(x *rd) {
	d.Original = read(x, "original", toBytes)
	d.SourceTopic = read(x, "source_topic", toString)
	d.SourcePartition = read(x, "source_partition", toInt)
	d.SourceOffset = read(x, "source_offset", toLong)
	d.Headers = read(x, "headers", toMapString)
	d.Stage = read(x, "stage", toString)
	d.ErrorClass = read(x, "error_class", toString)
	d.ErrorMessage = read(x, "error_message", toString)
	d.ReceivedAt = read(x, "received_at", toTime)
}
