package store

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// chType is a parsed ClickHouse data type, e.g. Nullable(DateTime64(3, 'UTC')).
type chType struct {
	name   string   // Nullable, DateTime64, UInt32, ...
	args   []chType // element types of Nullable, LowCardinality, Array, Map, Tuple
	fields []string // element names of a named Tuple, "" where unnamed
	params []string // literal parameters: ["3", "'UTC'"] for DateTime64(3, 'UTC')
}

// typeArgsAreTypes lists the types whose parameters are types themselves.
var typeArgsAreTypes = map[string]bool{
	"Nullable": true, "LowCardinality": true, "Array": true, "Map": true, "Tuple": true,
}

// parseType never fails: an unknown type is kept by name and handled as
// "other" by the converters.
func parseType(s string) chType {
	s = strings.TrimSpace(s)
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return chType{name: s}
	}
	t := chType{name: strings.TrimSpace(s[:open])}
	parts := splitTopLevel(s[open+1 : len(s)-1])
	if !typeArgsAreTypes[t.name] {
		t.params = parts
		return t
	}
	for _, p := range parts {
		field := ""
		if t.name == "Tuple" {
			field, p = splitTupleField(p)
		}
		t.fields = append(t.fields, field)
		t.args = append(t.args, parseType(p))
	}
	return t
}

// splitTupleField separates "a UInt8" into "a" and "UInt8"; a bare type
// such as "UInt8" or "Array(String)" has no name.
func splitTupleField(s string) (name, typ string) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t\n")
	if i < 0 || strings.ContainsAny(s[:i], "(,'") {
		return "", s
	}
	return strings.Trim(s[:i], "`\""), strings.TrimSpace(s[i:])
}

// splitTopLevel splits on commas outside parentheses and quotes.
func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '`' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			parts = append(parts, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" || len(parts) > 0 {
		parts = append(parts, rest)
	}
	return parts
}

func (t chType) String() string {
	if len(t.args) == 0 && len(t.params) == 0 {
		return t.name
	}
	var b strings.Builder
	b.WriteString(t.name)
	b.WriteByte('(')
	for i, a := range t.args {
		if i > 0 {
			b.WriteString(", ")
		}
		if i < len(t.fields) && t.fields[i] != "" {
			b.WriteString(t.fields[i] + " ")
		}
		b.WriteString(a.String())
	}
	b.WriteString(strings.Join(t.params, ", "))
	b.WriteByte(')')
	return b.String()
}

// unwrap strips LowCardinality and Nullable, which change how a value is
// stored but not which Go type it is.
func (t chType) unwrap() (base chType, nullable bool) {
	for {
		switch {
		case t.name == "LowCardinality" && len(t.args) == 1:
			t = t.args[0]
		case t.name == "Nullable" && len(t.args) == 1:
			t, nullable = t.args[0], true
		default:
			return t, nullable
		}
	}
}

// kind groups ClickHouse types by the Go type they normalise to.
type kind int

const (
	kindOther kind = iota
	kindInt
	kindUint
	kindFloat
	kindBool
	kindString
	kindBigText // Int128+, Decimal: exact text
	kindDate    // Date, Date32: a calendar day
	kindTime    // DateTime, DateTime64: an instant
	kindArray
	kindTuple
	kindMap
	kindNothing
)

// intBits is the width of a fixed-size integer type, or 0.
func intBits(name string) int {
	switch name {
	case "Int8", "UInt8":
		return 8
	case "Int16", "UInt16":
		return 16
	case "Int32", "UInt32":
		return 32
	case "Int64", "UInt64":
		return 64
	}
	return 0
}

func (t chType) kind() kind {
	switch t.name {
	case "Int8", "Int16", "Int32", "Int64":
		return kindInt
	case "UInt8", "UInt16", "UInt32", "UInt64":
		return kindUint
	case "Float32", "Float64", "BFloat16":
		return kindFloat
	case "Bool":
		return kindBool
	case "String", "FixedString", "Enum8", "Enum16", "Enum", "UUID", "IPv4", "IPv6":
		return kindString
	case "Int128", "Int256", "UInt128", "UInt256":
		return kindBigText
	case "Date", "Date32":
		return kindDate
	case "DateTime", "DateTime64":
		return kindTime
	case "Array":
		if len(t.args) == 1 {
			return kindArray
		}
	case "Tuple":
		return kindTuple
	case "Map":
		if len(t.args) == 2 {
			return kindMap
		}
	case "Nothing":
		return kindNothing
	}
	if strings.HasPrefix(t.name, "Decimal") {
		return kindBigText
	}
	return kindOther
}

// isStringMap reports Map(String, String), possibly with LowCardinality
// keys or values, which both stores return as map[string]string.
func (t chType) isStringMap() bool {
	if t.kind() != kindMap {
		return false
	}
	k, kn := t.args[0].unwrap()
	v, vn := t.args[1].unwrap()
	return !kn && !vn && k.name == "String" && v.name == "String"
}

// timeZone returns the time zone named in DateTime('tz') or
// DateTime64(p, 'tz'), or "".
func (t chType) timeZone() string {
	i := 0
	if t.name == "DateTime64" {
		i = 1
	}
	if t.name != "DateTime" && t.name != "DateTime64" || len(t.params) <= i {
		return ""
	}
	return strings.Trim(t.params[i], "'")
}

// precision is the number of fractional second digits a time column keeps.
func (t chType) precision() int {
	if t.name != "DateTime64" || len(t.params) == 0 {
		return 0
	}
	p, err := strconv.Atoi(t.params[0])
	if err != nil || p < 0 || p > 9 {
		return 3
	}
	return p
}

var locations sync.Map // time zone name → *time.Location

// loadLocation resolves a ClickHouse time zone name. The UTC spellings are
// answered without the system's tzdata, which slim containers lack; others
// are read once (time.LoadLocation reads a file on every call).
func loadLocation(name string) (*time.Location, error) {
	switch name {
	case "", "UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu":
		return time.UTC, nil
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}
