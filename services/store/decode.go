package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeEachRow parses the engine's JSONCompactEachRowWithNamesAndTypes
// output: a line of column names, a line of types, then a JSON array per
// row. The embedded store reads this format rather than JSONCompact because
// JSONCompact replaces invalid UTF-8 in String values with U+FFFD, while
// this one passes the bytes through. Times without a zone in their type are
// read in loc, the engine's time zone.
func decodeEachRow(out []byte, loc *time.Location) (*Result, error) {
	res := &Result{}
	if len(bytes.TrimSpace(out)) == 0 {
		return res, nil
	}
	var types []chType
	for n := 0; len(out) > 0; n++ {
		line := out
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			line, out = out[:i], out[i+1:]
		} else {
			out = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		elems, err := splitJSON(line, '[', ']')
		if err != nil {
			return nil, fmt.Errorf("output line %d: %w", n+1, err)
		}
		switch {
		case n == 0:
			for _, e := range elems {
				name, err := unquoteJSON(e)
				if err != nil {
					return nil, fmt.Errorf("column names: %w", err)
				}
				res.Columns = append(res.Columns, Column{Name: name})
			}
		case n == 1:
			if len(elems) != len(res.Columns) {
				return nil, fmt.Errorf("%d column types for %d columns", len(elems), len(res.Columns))
			}
			for i, e := range elems {
				typ, err := unquoteJSON(e)
				if err != nil {
					return nil, fmt.Errorf("column types: %w", err)
				}
				res.Columns[i].Type = typ
				types = append(types, parseType(typ))
			}
		default:
			if len(elems) != len(types) {
				return nil, fmt.Errorf("row %d has %d values for %d columns", len(res.Rows), len(elems), len(types))
			}
			row := make([]any, len(elems))
			for i, e := range elems {
				if row[i], err = fromJSON(e, types[i], loc); err != nil {
					return nil, fmt.Errorf("row %d, column %s: %w", len(res.Rows), res.Columns[i].Name, err)
				}
			}
			res.Rows = append(res.Rows, row)
		}
	}
	return res, nil
}

// fromJSON converts one JSON value of a column of type t to the Go type
// both stores use (see Open).
func fromJSON(raw []byte, t chType, loc *time.Location) (any, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	base, _ := t.unwrap()
	text := func() (string, error) {
		if len(raw) > 0 && raw[0] == '"' {
			return unquoteJSON(raw)
		}
		return string(raw), nil
	}
	switch base.kind() {
	case kindInt:
		s, err := text()
		if err != nil {
			return nil, err
		}
		return strconv.ParseInt(s, 10, 64)
	case kindUint:
		s, err := text()
		if err != nil {
			return nil, err
		}
		return strconv.ParseUint(s, 10, 64)
	case kindFloat:
		s, err := text()
		if err != nil {
			return nil, err
		}
		switch s {
		case "nan", "-nan":
			return math.NaN(), nil
		case "inf", "+inf":
			return math.Inf(1), nil
		case "-inf":
			return math.Inf(-1), nil
		}
		return strconv.ParseFloat(s, 64)
	case kindBool:
		return strconv.ParseBool(string(raw))
	case kindString, kindBigText:
		return text()
	case kindDate:
		s, err := text()
		if err != nil {
			return nil, err
		}
		return time.ParseInLocation(time.DateOnly, s, time.UTC)
	case kindTime:
		s, err := text()
		if err != nil {
			return nil, err
		}
		l := loc
		if tz := base.timeZone(); tz != "" {
			if l, err = loadLocation(tz); err != nil {
				return nil, fmt.Errorf("time zone of %s: %w", base, err)
			}
		}
		tm, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, l)
		return tm.UTC(), err
	case kindArray, kindTuple:
		var elems [][]byte
		var err error
		if base.kind() == kindTuple && len(raw) > 0 && raw[0] == '{' {
			elems, err = namedTupleElems(raw, base)
		} else {
			elems, err = splitJSON(raw, '[', ']')
		}
		if err != nil {
			return nil, err
		}
		out := make([]any, len(elems))
		for i, e := range elems {
			et := chType{name: "Nothing"}
			switch {
			case base.kind() == kindArray:
				et = base.args[0]
			case i < len(base.args):
				et = base.args[i]
			}
			if out[i], err = fromJSON(e, et, loc); err != nil {
				return nil, err
			}
		}
		return out, nil
	case kindMap:
		kvs, err := splitJSON(raw, '{', '}')
		if err != nil {
			return nil, err
		}
		if base.isStringMap() {
			m := make(map[string]string, len(kvs)/2)
			for i := 0; i+1 < len(kvs); i += 2 {
				k, err := unquoteJSON(kvs[i])
				if err != nil {
					return nil, err
				}
				if m[k], err = unquoteJSON(kvs[i+1]); err != nil {
					return nil, err
				}
			}
			return m, nil
		}
		m := make(map[string]any, len(kvs)/2)
		for i := 0; i+1 < len(kvs); i += 2 {
			k, err := unquoteJSON(kvs[i])
			if err != nil {
				return nil, err
			}
			if m[k], err = fromJSON(kvs[i+1], base.args[1], loc); err != nil {
				return nil, err
			}
		}
		return m, nil
	case kindNothing:
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// namedTupleElems orders the members of a named tuple, which the engine
// writes as a JSON object, as the type declares them.
func namedTupleElems(raw []byte, t chType) ([][]byte, error) {
	kvs, err := splitJSON(raw, '{', '}')
	if err != nil {
		return nil, err
	}
	byName := map[string][]byte{}
	for i := 0; i+1 < len(kvs); i += 2 {
		k, err := unquoteJSON(kvs[i])
		if err != nil {
			return nil, err
		}
		byName[k] = kvs[i+1]
	}
	elems := make([][]byte, len(t.args))
	for i, f := range t.fields {
		v, ok := byName[f]
		if !ok {
			return nil, fmt.Errorf("tuple %s has no member %q", raw, f)
		}
		elems[i] = v
	}
	return elems, nil
}

// splitJSON returns the raw elements of a JSON array (open '[') or the raw
// keys and values, alternating, of a JSON object (open '{'), without
// decoding them, so strings keep their bytes until unquoteJSON.
func splitJSON(b []byte, open, close byte) ([][]byte, error) {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != open || b[len(b)-1] != close {
		return nil, fmt.Errorf("not a JSON %s: %.40q", map[byte]string{'[': "array", '{': "object"}[open], b)
	}
	var elems [][]byte
	i := 1
	for {
		i = skipSpace(b, i)
		if i == len(b)-1 && len(elems) == 0 {
			return nil, nil // empty
		}
		end, err := skipJSONValue(b, i)
		if err != nil {
			return nil, err
		}
		elems = append(elems, b[i:end])
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, errors.New("truncated JSON")
		}
		switch c := b[i]; {
		case c == close && i == len(b)-1:
			if open == '{' && len(elems)%2 != 0 {
				return nil, errors.New("JSON object key without a value")
			}
			return elems, nil
		case c == ',' || (open == '{' && c == ':' && len(elems)%2 == 1):
			i++
		default:
			return nil, fmt.Errorf("unexpected %q in JSON at offset %d", c, i)
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipJSONValue returns the end of the JSON value starting at b[i].
func skipJSONValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("truncated JSON")
	}
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; c {
		case '"':
			for j++; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if j >= len(b) {
				return 0, errors.New("unterminated JSON string")
			}
			if depth == 0 {
				return j + 1, nil
			}
		case '[', '{':
			depth++
		case ']', '}':
			if depth == 0 {
				return j, nil
			}
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		case ',', ':', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return j, nil
			}
		}
	}
	if depth != 0 {
		return 0, errors.New("truncated JSON")
	}
	return len(b), nil
}

// unquoteJSON decodes a JSON string, keeping bytes that are not valid UTF-8
// as they are (encoding/json would replace them with U+FFFD).
func unquoteJSON(b []byte) (string, error) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", fmt.Errorf("not a JSON string: %.40q", b)
	}
	b = b[1 : len(b)-1]
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b), nil
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			sb.WriteByte(c)
			continue
		}
		i++
		if i >= len(b) {
			return "", errors.New("JSON string ends in a backslash")
		}
		switch b[i] {
		case '"', '\\', '/':
			sb.WriteByte(b[i])
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'u':
			r, n, err := readUTF16Escape(b[i+1:])
			if err != nil {
				return "", err
			}
			i += n
			sb.WriteRune(r)
		default:
			return "", fmt.Errorf("invalid JSON escape \\%c", b[i])
		}
	}
	return sb.String(), nil
}

// readUTF16Escape reads the XXXX of \uXXXX, and a following low surrogate
// escape if XXXX is a high one; n is how many bytes it consumed.
func readUTF16Escape(b []byte) (r rune, n int, err error) {
	hex4 := func(b []byte) (rune, bool) {
		if len(b) < 4 {
			return 0, false
		}
		v, err := strconv.ParseUint(string(b[:4]), 16, 16)
		return rune(v), err == nil
	}
	r, ok := hex4(b)
	if !ok {
		return 0, 0, errors.New("invalid \\u escape in JSON string")
	}
	if utf16.IsSurrogate(r) && len(b) >= 10 && b[4] == '\\' && b[5] == 'u' {
		if r2, ok := hex4(b[6:]); ok {
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				return dec, 10, nil
			}
		}
	}
	return r, 4, nil
}

// fromNative converts a value clickhouse-go scanned for a column of type t
// to the Go type both stores use (see Open).
func fromNative(v any, t chType) any {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil
	}
	base, _ := t.unwrap()
	switch base.kind() {
	case kindInt:
		if rv.CanInt() {
			return rv.Int()
		}
	case kindUint:
		if rv.CanUint() {
			return rv.Uint()
		}
	case kindFloat:
		if rv.CanFloat() {
			return rv.Float()
		}
	case kindBool:
		if rv.Kind() == reflect.Bool {
			return rv.Bool()
		}
	case kindDate:
		if tm, ok := rv.Interface().(time.Time); ok {
			y, m, d := tm.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		}
	case kindTime:
		if tm, ok := rv.Interface().(time.Time); ok {
			return tm.UTC()
		}
	case kindArray, kindTuple:
		switch rv.Kind() {
		case reflect.Slice, reflect.Array:
			out := make([]any, rv.Len())
			for i := range out {
				et := chType{name: "Nothing"}
				switch {
				case base.kind() == kindArray:
					et = base.args[0]
				case i < len(base.args):
					et = base.args[i]
				}
				out[i] = fromNative(rv.Index(i).Interface(), et)
			}
			return out
		case reflect.Map: // a named tuple
			out := make([]any, len(base.fields))
			for i, f := range base.fields {
				if mv := rv.MapIndex(reflect.ValueOf(f)); mv.IsValid() {
					out[i] = fromNative(mv.Interface(), base.args[i])
				}
			}
			return out
		}
	case kindMap:
		if rv.Kind() == reflect.Map {
			if base.isStringMap() {
				m := make(map[string]string, rv.Len())
				for it := rv.MapRange(); it.Next(); {
					m[fmt.Sprint(fromNative(it.Key().Interface(), base.args[0]))] = fmt.Sprint(fromNative(it.Value().Interface(), base.args[1]))
				}
				return m
			}
			m := make(map[string]any, rv.Len())
			for it := rv.MapRange(); it.Next(); {
				m[fmt.Sprint(fromNative(it.Key().Interface(), base.args[0]))] = fromNative(it.Value().Interface(), base.args[1])
			}
			return m
		}
	case kindNothing:
		return nil
	}
	switch x := rv.Interface().(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case fmt.Stringer: // UUID, IP addresses, decimal.Decimal
		return x.String()
	}
	if rv.CanAddr() {
		if s, ok := rv.Addr().Interface().(fmt.Stringer); ok { // big.Int, whose String has a pointer receiver
			return s.String()
		}
	}
	return rv.Interface()
}
