// Package normalize turns raw producer records into Driftline's canonical
// events. It is the adapter's logic, free of Kafka so that the service, the
// offline `driftline adapt` command and the tests share it.
package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/driftline/driftline/schemas"
)

// Kinds of source.
const (
	KindInference = "inference"
	KindLabel     = "label"
)

// Error classes of a Failure, as counted and stored with dead letters.
const (
	ClassTooLarge     = "too_large"
	ClassMalformed    = "malformed"
	ClassMissingField = "missing_field"
	ClassWrongType    = "wrong_type"
)

// StageDecode is the dead-letter stage of everything this package rejects.
const StageDecode = "decode"

// DefaultMaxRecordBytes bounds one raw record.
const DefaultMaxRecordBytes = 1 << 20

// Failure says why a record could not be normalised.
type Failure struct {
	Class string
	Err   error
}

func (f *Failure) Error() string { return f.Class + ": " + f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

func fail(class, format string, args ...any) *Failure {
	return &Failure{Class: class, Err: fmt.Errorf(format, args...)}
}

// Event is one normalised record: exactly one of the two is set.
type Event struct {
	Inference *schemas.InferenceEvent
	Label     *schemas.LabelEvent
}

// Decoder normalises the records of one source.
type Decoder struct {
	Source         string
	Kind           string // KindInference or KindLabel
	MaxRecordBytes int
}

// Decode normalises one JSON record. A record that cannot be normalised
// returns a *Failure naming the error class.
func (d Decoder) Decode(value []byte) (Event, error) {
	max := d.MaxRecordBytes
	if max <= 0 {
		max = DefaultMaxRecordBytes
	}
	if len(value) > max {
		return Event{}, fail(ClassTooLarge, "record of %d bytes exceeds the limit of %d", len(value), max)
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return Event{}, fail(ClassMalformed, "not a JSON object: %v", err)
	}
	if dec.More() {
		return Event{}, fail(ClassMalformed, "trailing data after the JSON object")
	}
	if obj == nil {
		return Event{}, fail(ClassMalformed, "not a JSON object: null")
	}
	if d.Kind == KindLabel {
		l, f := d.label(obj)
		if f != nil {
			return Event{}, f
		}
		return Event{Label: l}, nil
	}
	e, f := d.inference(obj)
	if f != nil {
		return Event{}, f
	}
	return Event{Inference: e}, nil
}

func (d Decoder) inference(obj map[string]any) (*schemas.InferenceEvent, *Failure) {
	e := &schemas.InferenceEvent{Source: d.Source, Variant: schemas.VariantProduction}
	var f *Failure
	if e.RequestID, f = requiredString(obj, "request_id"); f != nil {
		return nil, f
	}
	if e.ModelID, f = requiredString(obj, "model_id"); f != nil {
		return nil, f
	}
	if e.ModelVersion, f = optionalString(obj, "model_version"); f != nil {
		return nil, f
	}
	if v, f := optionalString(obj, "variant"); f != nil {
		return nil, f
	} else if v != "" {
		e.Variant = v
	}
	if e.EventID, f = optionalString(obj, "event_id"); f != nil {
		return nil, f
	}
	if e.EventID == "" {
		e.EventID = e.RequestID + "/" + e.Variant
	}
	if e.EventTime, f = timeField(obj, "timestamp"); f != nil {
		return nil, f
	}
	raw, ok := obj["features"]
	if !ok || raw == nil {
		return nil, fail(ClassMissingField, "field %q is required", "features")
	}
	fm, ok := raw.(map[string]any)
	if !ok {
		return nil, fail(ClassWrongType, "field %q: want an object, got %s", "features", jsonType(raw))
	}
	e.Features = make(map[string]any, len(fm))
	for name, v := range fm {
		fv, f := featureValue(name, v)
		if f != nil {
			return nil, f
		}
		e.Features[name] = fv
	}
	if e.Prediction, f = prediction(obj["prediction"]); f != nil {
		return nil, f
	}
	if v, ok := obj["latency_ms"]; ok && v != nil {
		x, f := number("latency_ms", v)
		if f != nil {
			return nil, f
		}
		e.LatencyMS = x
	}
	if e.Segments, f = stringMap(obj, "segments"); f != nil {
		return nil, f
	}
	if c, ok := obj["cost"]; ok && c != nil {
		cm, ok := c.(map[string]any)
		if !ok {
			return nil, fail(ClassWrongType, "field %q: want an object, got %s", "cost", jsonType(c))
		}
		e.Cost = &schemas.Cost{}
		for k, dst := range map[string]*float64{"cost_usd": &e.Cost.CostUSD} {
			if v, ok := cm[k]; ok && v != nil {
				x, f := number("cost."+k, v)
				if f != nil {
					return nil, f
				}
				*dst = x
			}
		}
		for k, dst := range map[string]*int64{"input_tokens": &e.Cost.InputTokens, "output_tokens": &e.Cost.OutputTokens} {
			if v, ok := cm[k]; ok && v != nil {
				x, f := number("cost."+k, v)
				if f != nil {
					return nil, f
				}
				*dst = int64(x)
			}
		}
	}
	return e, nil
}

func (d Decoder) label(obj map[string]any) (*schemas.LabelEvent, *Failure) {
	l := &schemas.LabelEvent{Source: d.Source}
	var f *Failure
	if l.RequestID, f = requiredString(obj, "request_id"); f != nil {
		return nil, f
	}
	if l.LabelTime, f = timeField(obj, "timestamp"); f != nil {
		return nil, f
	}
	v, ok := obj["label"]
	if !ok || v == nil {
		return nil, fail(ClassMissingField, "field %q is required", "label")
	}
	switch x := v.(type) {
	case string:
		l.Class = &x
	case bool:
		s := strconv.FormatBool(x)
		l.Class = &s
	case json.Number:
		s := x.String()
		l.Class = &s
		if fv, err := x.Float64(); err == nil && !math.IsInf(fv, 0) {
			l.Value = &fv
		}
	default:
		return nil, fail(ClassWrongType, "field %q: want a string, number or boolean, got %s", "label", jsonType(v))
	}
	return l, nil
}

func prediction(v any) (schemas.Prediction, *Failure) {
	var p schemas.Prediction
	switch x := v.(type) {
	case nil:
		return p, nil
	case string:
		p.Class = &x
		return p, nil
	case bool:
		s := strconv.FormatBool(x)
		p.Class = &s
		return p, nil
	case json.Number:
		f, f2 := number("prediction", x)
		if f2 != nil {
			return p, f2
		}
		p.Value = &f
		return p, nil
	case map[string]any:
		if c, ok := x["class"]; ok && c != nil {
			switch cv := c.(type) {
			case string:
				p.Class = &cv
			case json.Number:
				s := cv.String()
				p.Class = &s
			case bool:
				s := strconv.FormatBool(cv)
				p.Class = &s
			default:
				return p, fail(ClassWrongType, "field %q: want a string, got %s", "prediction.class", jsonType(c))
			}
		}
		for k, dst := range map[string]**float64{"score": &p.Score, "value": &p.Value} {
			if s, ok := x[k]; ok && s != nil {
				f, fl := number("prediction."+k, s)
				if fl != nil {
					return p, fl
				}
				*dst = &f
			}
		}
		if pr, ok := x["probabilities"]; ok && pr != nil {
			pm, ok := pr.(map[string]any)
			if !ok {
				return p, fail(ClassWrongType, "field %q: want an object, got %s", "prediction.probabilities", jsonType(pr))
			}
			p.Probabilities = make(map[string]float64, len(pm))
			for c, s := range pm {
				f, fl := number("prediction.probabilities."+c, s)
				if fl != nil {
					return p, fl
				}
				p.Probabilities[c] = f
			}
		}
		return p, nil
	default:
		return p, fail(ClassWrongType, "field %q: want an object, string or number, got %s", "prediction", jsonType(v))
	}
}

func featureValue(name string, v any) (any, *Failure) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string, bool:
		return x, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, fail(ClassWrongType, "feature %q: number %s out of range", name, x)
		}
		return f, nil
	default:
		return nil, fail(ClassWrongType, "feature %q: want a number, string, boolean or null, got %s", name, jsonType(v))
	}
}

func number(field string, v any) (float64, *Failure) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return 0, fail(ClassWrongType, "field %q: number %s out of range", field, x)
		}
		return f, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fail(ClassWrongType, "field %q: %q is not a number", field, x)
		}
		return f, nil
	default:
		return 0, fail(ClassWrongType, "field %q: want a number, got %s", field, jsonType(v))
	}
}

func requiredString(obj map[string]any, field string) (string, *Failure) {
	s, f := optionalString(obj, field)
	if f == nil && s == "" {
		return "", fail(ClassMissingField, "field %q is required", field)
	}
	return s, f
}

func optionalString(obj map[string]any, field string) (string, *Failure) {
	switch x := obj[field].(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	default:
		return "", fail(ClassWrongType, "field %q: want a string, got %s", field, jsonType(x))
	}
}

func stringMap(obj map[string]any, field string) (map[string]string, *Failure) {
	v, ok := obj[field]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fail(ClassWrongType, "field %q: want an object, got %s", field, jsonType(v))
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		switch s := x.(type) {
		case string:
			out[k] = s
		case json.Number:
			out[k] = s.String()
		case bool:
			out[k] = strconv.FormatBool(s)
		default:
			return nil, fail(ClassWrongType, "field %q: value of %q: want a string, got %s", field, k, jsonType(x))
		}
	}
	return out, nil
}

// timeField reads an ISO-8601 / RFC 3339 string, or epoch seconds or
// milliseconds (told apart by magnitude: below 1e11 is seconds, which covers
// dates up to the year 5138).
func timeField(obj map[string]any, field string) (time.Time, *Failure) {
	v, ok := obj[field]
	if !ok || v == nil {
		return time.Time{}, fail(ClassMissingField, "field %q is required", field)
	}
	switch x := v.(type) {
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t.UTC(), nil
			}
		}
		if n, err := strconv.ParseFloat(x, 64); err == nil {
			return epoch(field, n)
		}
		return time.Time{}, fail(ClassWrongType, "field %q: %q is not an ISO-8601 time or epoch number", field, x)
	case json.Number:
		n, err := x.Float64()
		if err != nil {
			return time.Time{}, fail(ClassWrongType, "field %q: %s is not a number", field, x)
		}
		return epoch(field, n)
	default:
		return time.Time{}, fail(ClassWrongType, "field %q: want a time string or epoch number, got %s", field, jsonType(v))
	}
}

func epoch(field string, n float64) (time.Time, *Failure) {
	if math.IsNaN(n) || n < 0 || n > 1e15 {
		return time.Time{}, fail(ClassWrongType, "field %q: epoch %v out of range", field, n)
	}
	if n < 1e11 {
		n *= 1000
	}
	return time.UnixMilli(int64(n)).UTC(), nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// ClassOf returns the error class of err, or "internal".
func ClassOf(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Class
	}
	return "internal"
}
