package store

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WriteTable writes r as an aligned ASCII table with a header row, in the
// manner of clickhouse-client's PrettyCompact with ASCII borders: numbers
// right-aligned, NULL for NULL, control characters escaped.
func (r *Result) WriteTable(w io.Writer) error {
	types := make([]chType, len(r.Columns))
	widths := make([]int, len(r.Columns))
	right := make([]bool, len(r.Columns))
	for i, c := range r.Columns {
		types[i] = parseType(c.Type)
		widths[i] = utf8.RuneCountInString(c.Name)
		switch base, _ := types[i].unwrap(); base.kind() {
		case kindInt, kindUint, kindFloat, kindBigText:
			right[i] = true
		}
	}
	cells := make([][]string, len(r.Rows))
	for i, row := range r.Rows {
		cells[i] = make([]string, len(r.Columns))
		for j := range r.Columns {
			var v any
			if j < len(row) {
				v = row[j]
			}
			s := escapeCell(formatValue(v, types[j], false))
			cells[i][j] = s
			widths[j] = max(widths[j], utf8.RuneCountInString(s))
		}
	}

	bw := bufio.NewWriter(w)
	// Header: +-name---+-value-+
	bw.WriteByte('+')
	for j, c := range r.Columns {
		bw.WriteByte('-')
		bw.WriteString(c.Name)
		bw.WriteString(strings.Repeat("-", widths[j]-utf8.RuneCountInString(c.Name)+1))
		bw.WriteByte('+')
	}
	bw.WriteByte('\n')
	for _, row := range cells {
		bw.WriteByte('|')
		for j, s := range row {
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(s))
			bw.WriteByte(' ')
			if right[j] {
				bw.WriteString(pad + s)
			} else {
				bw.WriteString(s + pad)
			}
			bw.WriteString(" |")
		}
		bw.WriteByte('\n')
	}
	bw.WriteByte('+')
	for j := range r.Columns {
		bw.WriteString(strings.Repeat("-", widths[j]+2))
		bw.WriteByte('+')
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

// WriteJSON writes r as a JSON array with one object per row, its keys the
// column names in column order, one row per line. Times are RFC 3339 in
// UTC at the column's precision, 64-bit integers exact numbers, NaN and
// infinities null (JSON has no such numbers), and invalid UTF-8 in strings
// U+FFFD.
func (r *Result) WriteJSON(w io.Writer) error {
	types := make([]chType, len(r.Columns))
	keys := make([][]byte, len(r.Columns))
	for i, c := range r.Columns {
		types[i] = parseType(c.Type)
		k, err := json.Marshal(c.Name)
		if err != nil {
			return err
		}
		keys[i] = k
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	var b []byte
	for i, row := range r.Rows {
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n{"...)
		for j := range r.Columns {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, keys[j]...)
			b = append(b, ':')
			var v any
			if j < len(row) {
				v = row[j]
			}
			var err error
			if b, err = appendJSONOut(b, v, types[j]); err != nil {
				return fmt.Errorf("row %d, column %s: %w", i, r.Columns[j].Name, err)
			}
		}
		b = append(b, '}')
		bw.Write(b)
	}
	if len(r.Rows) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

func appendJSONOut(b []byte, v any, t chType) ([]byte, error) {
	base, _ := t.unwrap()
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...), nil
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64), nil
	case time.Time:
		return strconv.AppendQuote(b, formatTime(x, base, true)), nil
	case []any:
		et := func(i int) chType {
			if base.kind() == kindArray {
				return base.args[0]
			}
			if i < len(base.args) {
				return base.args[i]
			}
			return chType{}
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSONOut(b, e, et(i)); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		var vt chType
		if base.kind() == kindMap {
			vt = base.args[1]
		}
		b = append(b, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b = append(b, ',')
			}
			kj, _ := json.Marshal(k)
			b = append(b, kj...)
			b = append(b, ':')
			var err error
			if b, err = appendJSONOut(b, x[k], vt); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	// strings, bools, map[string]string (encoding/json sorts its keys).
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

// formatValue renders one value as text in ClickHouse's manner; quoted
// puts strings in single quotes, as inside arrays and maps.
func formatValue(v any, t chType, quoted bool) string {
	base, _ := t.unwrap()
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		if quoted {
			return quoteString(x)
		}
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return formatFloat(x)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		if quoted {
			return "'" + formatTime(x, base, false) + "'"
		}
		return formatTime(x, base, false)
	case []any:
		open, close := "[", "]"
		if base.kind() == kindTuple {
			open, close = "(", ")"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			et := chType{}
			switch {
			case base.kind() == kindArray:
				et = base.args[0]
			case i < len(base.args):
				et = base.args[i]
			}
			parts[i] = formatValue(e, et, true)
		}
		return open + strings.Join(parts, ",") + close
	case map[string]string:
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, quoteString(k)+":"+quoteString(x[k]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case map[string]any:
		var kt, vt chType
		if base.kind() == kindMap {
			kt, vt = base.args[0], base.args[1]
		}
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			key := k
			if kb, _ := kt.unwrap(); kb.kind() == kindString || kb.kind() == kindOther {
				key = quoteString(k)
			}
			parts = append(parts, key+":"+formatValue(x[k], vt, true))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	// ClickHouse writes exponents bare: 1e-9, 1e21.
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		exp := strings.TrimLeft(strings.TrimPrefix(s[i+1:], "+"), "-0")
		if s[i+1] == '-' {
			exp = "-" + exp
		}
		s = s[:i+1] + exp
	}
	return s
}

// formatTime renders a time as its column keeps it: a day for Date, seconds
// for DateTime, the declared digits for DateTime64; in UTC, as both stores
// return times.
func formatTime(tm time.Time, t chType, rfc3339 bool) string {
	tm = tm.UTC()
	if t.kind() == kindDate {
		return tm.Format(time.DateOnly)
	}
	layout := time.DateTime
	if rfc3339 {
		layout = "2006-01-02T15:04:05"
	}
	if p := t.precision(); p > 0 {
		layout += "." + "000000000"[:p]
	}
	if rfc3339 {
		layout += "Z07:00"
	}
	return tm.Format(layout)
}

// escapeCell keeps a table cell on one line.
func escapeCell(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
