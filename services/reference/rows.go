package reference

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strings"
)

// RowReader reads a CSV file one row at a time with the rules FromCSV
// profiles a reference by (RFC 4180, comma-separated, a header row, a
// UTF-8 byte-order mark ignored, ragged rows an error naming the line), so
// that data compared with a reference is read the way the reference was.
// It holds one row in memory; IsMissing and ParseNumeric interpret its
// fields as FromCSV does.
type RowReader struct {
	name   string
	cr     *csv.Reader
	header []string
}

// NewRowReader reads the header row of r. name names the input in errors
// ("current CSV" when empty).
func NewRowReader(r io.Reader, name string) (*RowReader, error) {
	if name == "" {
		name = "current CSV"
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // ragged rows get our own error, with the line
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty input: a header row is required", name)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	header = append([]string(nil), header...) // ReuseRecord would overwrite it
	header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	return &RowReader{name: name, cr: cr, header: header}, nil
}

// Name is the input's name, as errors give it.
func (r *RowReader) Name() string { return r.name }

// Header returns the header row; the caller must not modify it.
func (r *RowReader) Header() []string { return r.header }

// Index returns the field index of each named column, failing with
// "NAME:1: ..." when one is not in the header or appears there twice.
func (r *RowReader) Index(columns []string) ([]int, error) {
	pos := make(map[string]int, len(r.header))
	second := make(map[string]int) // a column's second field, when it has one
	for i, h := range r.header {
		if h == "" {
			continue
		}
		if _, ok := pos[h]; ok {
			if _, seen := second[h]; !seen {
				second[h] = i
			}
			continue
		}
		pos[h] = i
	}
	out := make([]int, len(columns))
	for k, c := range columns {
		i, ok := pos[c]
		if !ok {
			return nil, fmt.Errorf("%s:1: no column %q in the header", r.name, c)
		}
		if j, twice := second[c]; twice {
			return nil, fmt.Errorf("%s:1: column %q appears twice (fields %d and %d)", r.name, c, i+1, j+1)
		}
		out[k] = i
	}
	return out, nil
}

// Next returns the next row, or io.EOF after the last. The slice is reused
// by the following call. A row whose field count differs from the
// header's is an error naming the line, as are CSV syntax errors.
func (r *RowReader) Next() ([]string, error) {
	rec, err := r.cr.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, csvError(r.name, err)
	}
	if len(rec) != len(r.header) {
		line, _ := r.cr.FieldPos(0)
		return nil, fmt.Errorf("%s:%d: row has %d fields, the header has %d", r.name, line, len(rec), len(r.header))
	}
	return rec, nil
}

// Errorf returns an error about field i of the row Next returned last,
// naming the input, the field's line and its column, as in
// `cur.csv:12: column "age": value is not a number`.
func (r *RowReader) Errorf(i int, format string, args ...any) error {
	line, _ := r.cr.FieldPos(i)
	return fmt.Errorf("%s:%d: column %q: "+format, append([]any{r.name, line, r.header[i]}, args...)...)
}

// IsMissing reports whether a CSV field is a missing value: empty, or NA,
// NaN, null or None in any case (pandas' usual spellings), around spaces.
func IsMissing(field string) bool { return isMissing(field) }

// ParseNumeric reads a field of a numeric column as FromCSV does: missing
// when IsMissing says so or when it is NaN, ±Inf or beyond the float64
// range (Evidently drops those); otherwise ok reports whether it is a
// decimal number, spaces around it allowed, and x is its value.
func ParseNumeric(field string) (x float64, missing, ok bool) {
	if isMissing(field) {
		return 0, true, true
	}
	f, ok := parseNumber(field)
	if !ok {
		return 0, false, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, true, true
	}
	return f, false, true
}
