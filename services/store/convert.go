package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// tableColumn is one column of a table as DESCRIBE TABLE reports it.
type tableColumn struct {
	name        string
	typ         chType
	defaultKind string // "", DEFAULT, MATERIALIZED, ALIAS, EPHEMERAL
	defaultExpr string
}

// tableSchema is what Insert needs to know about a table.
type tableSchema struct {
	columns []tableColumn // in declaration order
	byName  map[string]int
}

func newTableSchema(res *Result) (*tableSchema, error) {
	idx := map[string]int{}
	for i, c := range res.Columns {
		idx[c.Name] = i
	}
	for _, need := range []string{"name", "type", "default_type", "default_expression"} {
		if _, ok := idx[need]; !ok {
			return nil, fmt.Errorf("DESCRIBE TABLE returned no %s column", need)
		}
	}
	s := &tableSchema{byName: map[string]int{}}
	for _, row := range res.Rows {
		str := func(col string) string { v, _ := row[idx[col]].(string); return v }
		s.byName[str("name")] = len(s.columns)
		s.columns = append(s.columns, tableColumn{
			name:        str("name"),
			typ:         parseType(str("type")),
			defaultKind: str("default_type"),
			defaultExpr: str("default_expression"),
		})
	}
	if len(s.columns) == 0 {
		return nil, errors.New("DESCRIBE TABLE returned no columns")
	}
	return s, nil
}

var errUnknownColumn = errors.New("unknown column")

// prepareInsert checks rows against the table and converts every value to
// the Go type clickhouse-go wants for its column. Both stores insert what it
// returns, so both accept and reject the same rows and store the same
// values: a value out of its column's range is an error rather than
// silently wrapped, as the JSON input format would do, and an unknown
// column is an error rather than silently dropped.
//
// The columns are the union of the rows' keys, in table order. A row that
// omits one of them, or sets it to nil while it is not Nullable, gets the
// type's zero value (NULL for Nullable), which is what the server would
// have used; a column whose DEFAULT is an expression cannot be filled that
// way by clickhouse-go and must then be set in every row.
func prepareInsert(s *tableSchema, rows []Row) ([]tableColumn, [][]any, error) {
	used := make([]bool, len(s.columns))
	for i, row := range rows {
		for name := range row {
			c, ok := s.byName[name]
			if !ok {
				return nil, nil, fmt.Errorf("row %d: %w %q", i, errUnknownColumn, name)
			}
			switch k := s.columns[c].defaultKind; k {
			case "MATERIALIZED", "ALIAS":
				return nil, nil, fmt.Errorf("row %d: column %s is %s and cannot be inserted", i, name, k)
			}
			used[c] = true
		}
	}
	var cols []tableColumn
	for i, c := range s.columns {
		if used[i] {
			cols = append(cols, c)
		}
	}
	values := make([][]any, len(rows))
	for i, row := range rows {
		vals := make([]any, len(cols))
		for j, c := range cols {
			v, ok := row[c.name]
			_, nullable := c.typ.unwrap()
			var err error
			if !ok || (v == nil && !nullable) {
				if c.defaultKind != "" {
					return nil, nil, fmt.Errorf("row %d omits column %s, whose default is the expression %s; set it in every row of the call", i, c.name, c.defaultExpr)
				}
				vals[j], err = zeroValue(c.typ)
			} else {
				vals[j], err = toColumn(v, c.typ)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("row %d, column %s: %w", i, c.name, err)
			}
		}
		values[i] = vals
	}
	return cols, values, nil
}

// zeroValue is the value ClickHouse gives an omitted column without a
// DEFAULT expression.
func zeroValue(t chType) (any, error) {
	base, nullable := t.unwrap()
	if nullable {
		return nil, nil
	}
	switch base.kind() {
	case kindInt:
		return toColumn(int64(0), base)
	case kindUint:
		return toColumn(uint64(0), base)
	case kindFloat:
		return toColumn(0.0, base)
	case kindBool:
		return false, nil
	case kindDate, kindTime:
		return time.Unix(0, 0).UTC(), nil
	case kindBigText:
		return toColumn("0", base)
	case kindMap:
		if base.isStringMap() {
			return map[string]string{}, nil
		}
	case kindString:
		switch base.name {
		case "String":
			return "", nil
		case "FixedString":
			if len(base.params) == 1 {
				if n, err := strconv.Atoi(base.params[0]); err == nil && n >= 0 {
					return strings.Repeat("\x00", n), nil
				}
			}
		case "Enum8", "Enum16", "Enum":
			if name, ok := enumDefault(base); ok {
				return name, nil
			}
		case "UUID":
			return "00000000-0000-0000-0000-000000000000", nil
		case "IPv4":
			return "0.0.0.0", nil
		case "IPv6":
			return "::", nil
		}
	}
	return nil, fmt.Errorf("no value given, and a %s column's default is not known here; set it in every row of the call", t)
}

// enumDefault is an Enum's default: the name with the smallest number.
func enumDefault(t chType) (string, bool) {
	var best string
	var bestNum int64
	found := false
	for _, p := range t.params {
		eq := strings.LastIndexByte(p, '=')
		if eq < 0 {
			return "", false
		}
		num, err := strconv.ParseInt(strings.TrimSpace(p[eq+1:]), 10, 64)
		if err != nil {
			return "", false
		}
		name, err := unquoteSQLString(strings.TrimSpace(p[:eq]))
		if err != nil {
			return "", false
		}
		if !found || num < bestNum {
			best, bestNum, found = name, num, true
		}
	}
	return best, found
}

// unquoteSQLString decodes a single-quoted ClickHouse string literal.
func unquoteSQLString(s string) (string, error) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", fmt.Errorf("not a string literal: %s", s)
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c == '\\' || c == '\'') && i+1 < len(s) {
			i++
			c = s[i]
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// toColumn converts one Insert value (string, bool, int64/int32/uint64/
// uint32 or another integer type, float64, time.Time, map[string]string,
// []byte or nil) for a column of type t. Types this package does not know
// are passed through for clickhouse-go to judge.
func toColumn(v any, t chType) (any, error) {
	base, nullable := t.unwrap()
	if v == nil {
		if nullable {
			return nil, nil
		}
		return nil, fmt.Errorf("NULL in a column of type %s", t)
	}
	x, err := toBase(v, base)
	if err != nil || !nullable {
		return x, err
	}
	// clickhouse-go takes a pointer or nil for a Nullable column.
	p := reflect.New(reflect.TypeOf(x))
	p.Elem().Set(reflect.ValueOf(x))
	return p.Interface(), nil
}

func toBase(v any, t chType) (any, error) {
	mismatch := func() error { return fmt.Errorf("%T value for a %s column", v, t) }
	switch t.kind() {
	case kindInt:
		n, ok := asInt(v)
		if !ok {
			return nil, mismatch()
		}
		bits := intBits(t.name)
		if !n.fitsSigned(bits) {
			return nil, fmt.Errorf("%v is out of range for %s", v, t)
		}
		i := n.int64()
		switch bits {
		case 8:
			return int8(i), nil
		case 16:
			return int16(i), nil
		case 32:
			return int32(i), nil
		}
		return i, nil
	case kindUint:
		n, ok := asInt(v)
		if !ok {
			return nil, mismatch()
		}
		bits := intBits(t.name)
		if !n.fitsUnsigned(bits) {
			return nil, fmt.Errorf("%v is out of range for %s", v, t)
		}
		switch bits {
		case 8:
			return uint8(n.mag), nil
		case 16:
			return uint16(n.mag), nil
		case 32:
			return uint32(n.mag), nil
		}
		return n.mag, nil
	case kindFloat:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		default:
			n, ok := asInt(v)
			if !ok {
				return nil, mismatch()
			}
			f = float64(n.mag)
			if n.neg {
				f = -f
			}
		}
		if t.name == "Float64" {
			return f, nil
		}
		return float32(f), nil
	case kindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, mismatch()
	case kindString:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
		return nil, mismatch()
	case kindBigText:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			n, ok := asInt(v)
			if !ok {
				return nil, mismatch()
			}
			s = n.String()
		}
		if t.name[0] == 'D' { // Decimal: clickhouse-go parses the text itself
			return s, nil
		}
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("%q is not an integer for a %s column", s, t)
		}
		return n, nil
	case kindDate, kindTime:
		if tm, ok := v.(time.Time); ok {
			return tm, nil
		}
		return nil, mismatch()
	case kindMap:
		if t.isStringMap() {
			if m, ok := v.(map[string]string); ok {
				return m, nil
			}
			return nil, mismatch()
		}
	}
	return v, nil
}

// intValue is any Go integer, exactly: a sign and a magnitude.
type intValue struct {
	neg bool
	mag uint64
}

func asInt(v any) (intValue, bool) {
	signed := func(x int64) (intValue, bool) {
		if x < 0 {
			return intValue{neg: true, mag: uint64(-(x + 1)) + 1}, true
		}
		return intValue{mag: uint64(x)}, true
	}
	switch x := v.(type) {
	case int:
		return signed(int64(x))
	case int8:
		return signed(int64(x))
	case int16:
		return signed(int64(x))
	case int32:
		return signed(int64(x))
	case int64:
		return signed(x)
	case uint:
		return intValue{mag: uint64(x)}, true
	case uint8:
		return intValue{mag: uint64(x)}, true
	case uint16:
		return intValue{mag: uint64(x)}, true
	case uint32:
		return intValue{mag: uint64(x)}, true
	case uint64:
		return intValue{mag: x}, true
	}
	return intValue{}, false
}

func (n intValue) fitsSigned(bits int) bool {
	limit := uint64(1) << (bits - 1)
	if n.neg {
		return n.mag <= limit
	}
	return n.mag < limit
}

func (n intValue) fitsUnsigned(bits int) bool {
	return !n.neg && (bits == 64 || n.mag < uint64(1)<<bits)
}

func (n intValue) int64() int64 {
	if n.neg {
		return -int64(n.mag-1) - 1
	}
	return int64(n.mag)
}

func (n intValue) String() string {
	if n.neg {
		return "-" + strconv.FormatUint(n.mag, 10)
	}
	return strconv.FormatUint(n.mag, 10)
}

// appendJSONValue writes a value returned by toColumn as JSONEachRow input
// for a column of type t. Times are written in the column's time zone (the
// engine reads a time text in that zone), or in loc, the engine's zone,
// when the column names none.
func appendJSONValue(b []byte, v any, t chType, loc *time.Location) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	base, _ := t.unwrap()
	switch x := v.(type) {
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float32:
		return appendJSONFloat(b, float64(x), 32), nil
	case float64:
		return appendJSONFloat(b, x, 64), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendJSONString(b, x), nil
	case *big.Int:
		return appendJSONString(b, x.String()), nil
	case time.Time:
		return appendJSONTime(b, x, base, loc)
	case map[string]string:
		b = append(b, '{')
		first := true
		for k, val := range x {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, val)
		}
		return append(b, '}'), nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return append(b, "null"...), nil
		}
		return appendJSONValue(b, rv.Elem().Interface(), t, loc)
	}
	// Types outside the Insert contract (arrays, ...): encoding/json's
	// rendering is what the JSON input format expects of them.
	j, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%T value for a %s column: %w", v, t, err)
	}
	return append(b, j...), nil
}

func appendJSONFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"nan"`...)
	case math.IsInf(f, 1):
		return append(b, `"inf"`...)
	case math.IsInf(f, -1):
		return append(b, `"-inf"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

func appendJSONTime(b []byte, tm time.Time, t chType, loc *time.Location) ([]byte, error) {
	if t.kind() == kindDate {
		// clickhouse-go stores the calendar day of the time in its own zone.
		b = append(b, '"')
		b = tm.AppendFormat(b, time.DateOnly)
		return append(b, '"'), nil
	}
	if tz := t.timeZone(); tz != "" {
		l, err := loadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("time zone of %s: %w", t, err)
		}
		loc = l
	}
	b = append(b, '"')
	b = tm.In(loc).AppendFormat(b, timeLayouts[t.precision()])
	return append(b, '"'), nil
}

// timeLayouts formats a DateTime64 of each precision, as the engine reads
// and writes it.
var timeLayouts = func() (l [10]string) {
	l[0] = time.DateTime
	for p := 1; p < len(l); p++ {
		l[p] = time.DateTime + "." + "000000000"[:p]
	}
	return l
}()

// appendJSONString quotes s for JSON, escaping only what JSON requires and
// leaving other bytes as they are: String columns hold bytes, and the
// engine stores the bytes of a JSON string verbatim, where encoding/json
// would replace invalid UTF-8 with U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			clean = false
			break
		}
	}
	if clean {
		b = append(b, s...)
		return append(b, '"')
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
