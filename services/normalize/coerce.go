package normalize

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Value types a mapping can ask for. TypeAuto keeps what the format gave
// (JSON numbers become float64, strings stay strings).
const (
	TypeAuto   = "auto"
	TypeString = "string"
	TypeNumber = "number"
	TypeBool   = "bool"
)

// Time encodings a mapping can ask for. TimeAuto reads ISO-8601 strings and
// epoch numbers (or numeric strings), telling seconds from milliseconds by
// magnitude: below 1e11 is seconds, which covers dates up to the year 5138.
const (
	TimeAuto         = "auto"
	TimeISO8601      = "iso8601"
	TimeEpochSeconds = "epoch_seconds"
	TimeEpochMillis  = "epoch_millis"
	TimeEpochMicros  = "epoch_micros"
	TimeLayout       = "layout" // Go reference layout in the field's layout key
)

// text returns the #text of an XML element that also has attributes, so a
// mapping can read <latency unit="ms">12</latency> as "12".
func text(v any) any {
	if d, ok := v.(Document); ok {
		if t, ok := d["#text"]; ok {
			return t
		}
	}
	return v
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number, float64, float32, int, int32, int64, uint32, uint64:
		return "number"
	case Document:
		return "object"
	case []any:
		return "array"
	case []byte:
		return "bytes"
	case time.Time:
		return "time"
	}
	return fmt.Sprintf("%T", v)
}

// toString reads an identifier, class or segment value: strings, and
// numbers and booleans as their text.
func toString(field string, v any) (string, *Failure) {
	switch x := text(v).(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case int:
		return strconv.Itoa(x), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case []byte:
		return string(x), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	default:
		return "", fail(ClassWrongType, "field %q: want a string, got %s", field, typeName(x))
	}
}

// toNumber reads a number, or a string holding one. NaN and infinities are
// refused: they poison every sum downstream.
func toNumber(field string, v any) (float64, *Failure) {
	var f float64
	switch x := text(v).(type) {
	case json.Number:
		n, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(n, 0) {
			return 0, fail(ClassWrongType, "field %q: number %s out of range", field, x)
		}
		return n, nil
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fail(ClassWrongType, "field %q: %q is not a number", field, x)
		}
		f = n
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint32:
		f = float64(x)
	case uint64:
		f = float64(x)
	default:
		return 0, fail(ClassWrongType, "field %q: want a number, got %s", field, typeName(x))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fail(ClassWrongType, "field %q: %v is not a finite number", field, f)
	}
	return f, nil
}

// toBool reads a boolean, "true"/"false", "yes"/"no", "t"/"f", "y"/"n",
// "1"/"0" (any case) or the numbers 1 and 0.
func toBool(field string, v any) (bool, *Failure) {
	switch x := text(v).(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "t", "yes", "y", "1":
			return true, nil
		case "false", "f", "no", "n", "0":
			return false, nil
		}
		return false, fail(ClassWrongType, "field %q: %q is not a boolean", field, x)
	default:
		n, f := toNumber(field, x)
		if f == nil && (n == 0 || n == 1) {
			return n == 1, nil
		}
		return false, fail(ClassWrongType, "field %q: want a boolean, got %s", field, typeName(x))
	}
}

// featureValue converts a feature to the canonical types: nil, float64,
// string or bool.
func featureValue(field, typ string, v any) (any, *Failure) {
	v = text(v)
	if v == nil {
		return nil, nil
	}
	switch typ {
	case TypeNumber:
		if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
			return nil, nil
		}
		return toNumberAny(field, v)
	case TypeString:
		s, f := toString(field, v)
		return s, f
	case TypeBool:
		if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
			return nil, nil
		}
		b, f := toBool(field, v)
		return b, f
	}
	switch x := v.(type) {
	case string, bool:
		return x, nil
	case json.Number, float64, float32, int, int32, int64, uint32, uint64:
		return toNumberAny(field, x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	default:
		return nil, fail(ClassWrongType, "field %q: want a number, string, boolean or null, got %s", field, typeName(v))
	}
}

func toNumberAny(field string, v any) (any, *Failure) {
	n, f := toNumber(field, v)
	if f != nil {
		return nil, f
	}
	return n, nil
}

var isoLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"}

// toTime reads a time in the encoding enc (one of the Time* constants).
func toTime(field, enc, layout string, v any) (time.Time, *Failure) {
	v = text(v)
	if t, ok := v.(time.Time); ok {
		return t.UTC(), nil
	}
	switch enc {
	case TimeLayout:
		s, ok := v.(string)
		if !ok {
			return time.Time{}, fail(ClassWrongType, "field %q: want a time string, got %s", field, typeName(v))
		}
		t, err := time.Parse(layout, strings.TrimSpace(s))
		if err != nil {
			return time.Time{}, fail(ClassWrongType, "field %q: %q does not match the layout %q", field, s, layout)
		}
		return t.UTC(), nil
	case TimeISO8601:
		s, ok := v.(string)
		if !ok {
			return time.Time{}, fail(ClassWrongType, "field %q: want an ISO-8601 string, got %s", field, typeName(v))
		}
		if t, ok := parseISO(s); ok {
			return t, nil
		}
		return time.Time{}, fail(ClassWrongType, "field %q: %q is not an ISO-8601 time", field, s)
	case TimeEpochSeconds, TimeEpochMillis, TimeEpochMicros:
		n, f := toNumber(field, v)
		if f != nil {
			return time.Time{}, f
		}
		scale := map[string]float64{TimeEpochSeconds: 1e3, TimeEpochMillis: 1, TimeEpochMicros: 1e-3}[enc]
		return epochMillis(field, n*scale)
	}
	switch x := v.(type) {
	case string:
		if t, ok := parseISO(x); ok {
			return t, nil
		}
		if n, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return epochAuto(field, n)
		}
		return time.Time{}, fail(ClassWrongType, "field %q: %q is not an ISO-8601 time or epoch number", field, x)
	case nil, bool, Document, []any:
		return time.Time{}, fail(ClassWrongType, "field %q: want a time string or epoch number, got %s", field, typeName(v))
	default:
		n, f := toNumber(field, x)
		if f != nil {
			return time.Time{}, f
		}
		return epochAuto(field, n)
	}
}

func parseISO(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 10 || s[4] != '-' {
		return time.Time{}, false
	}
	for _, layout := range isoLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func epochAuto(field string, n float64) (time.Time, *Failure) {
	if n < 1e11 && n > -1e11 {
		n *= 1000
	}
	return epochMillis(field, n)
}

// epochMillis bounds times to years 1970..33658 (1e15 ms): a negative or
// absurd epoch is a producer bug, not a time to window.
func epochMillis(field string, ms float64) (time.Time, *Failure) {
	if math.IsNaN(ms) || ms < 0 || ms > 1e15 {
		return time.Time{}, fail(ClassWrongType, "field %q: epoch %v ms out of range", field, ms)
	}
	return time.UnixMilli(int64(ms)).UTC(), nil
}
