package normalize

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// CSVConfig configures CSV records (RFC 4180: quoted fields may hold the
// delimiter, quotes doubled, and line breaks). Every value is a string; the
// mapping's types convert them.
type CSVConfig struct {
	// Columns names the fields of each row, in order.
	Columns []string `yaml:"columns"`
	// Header says each record starts with a header row naming the
	// columns (a batch); `driftline adapt` reads one header at the start
	// of its input. Columns and Header exclude each other.
	Header    bool   `yaml:"header"`
	Delimiter string `yaml:"delimiter"` // one character; default ","
	// NullValues are read as null (a missing value); default [""].
	NullValues []string `yaml:"null_values"`
	TrimSpace  bool     `yaml:"trim_space"`
}

type csvFormat struct {
	columns []string // nil with header
	comma   rune
	nulls   []string
	trim    bool
	limits  Limits
}

func newCSVFormat(c CSVConfig, l Limits) (*csvFormat, error) {
	f := &csvFormat{columns: c.Columns, comma: ',', nulls: c.NullValues, trim: c.TrimSpace, limits: l}
	if f.nulls == nil {
		f.nulls = []string{""}
	}
	if c.Delimiter != "" {
		r, n := utf8.DecodeRuneInString(c.Delimiter)
		if n != len(c.Delimiter) || r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError {
			return nil, fmt.Errorf("delimiter %q: want one character other than a quote or line break", c.Delimiter)
		}
		f.comma = r
	}
	switch {
	case c.Header && len(c.Columns) > 0:
		return nil, errors.New("give columns or header: true, not both")
	case !c.Header && len(c.Columns) == 0:
		return nil, errors.New("give the columns, or header: true when each record starts with a header row")
	}
	if err := f.checkColumns(c.Columns); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *csvFormat) checkColumns(cols []string) error {
	if len(cols) > f.limits.columns() {
		return fmt.Errorf("%d columns, more than the limit of %d", len(cols), f.limits.columns())
	}
	seen := map[string]bool{}
	for _, c := range cols {
		if c == "" {
			return errors.New("a column has no name")
		}
		if seen[c] {
			return fmt.Errorf("column %q appears twice", c)
		}
		seen[c] = true
	}
	return nil
}

// WithHeader returns the format reading rows with the columns named by a
// header row, for a stream that carries its header once.
func (f *csvFormat) WithHeader(header []byte) (Format, error) {
	r := f.reader(header)
	cols, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	if err := f.checkColumns(cols); err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	g := *f
	g.columns = slices.Clone(cols)
	return &g, nil
}

func (f *csvFormat) reader(b []byte) *csv.Reader {
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma = f.comma
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = f.trim
	r.ReuseRecord = true
	return r
}

func (f *csvFormat) Documents(value []byte) ([]Document, error) {
	r := f.reader(value)
	cols := f.columns
	if cols == nil {
		h, err := r.Read()
		if err != nil {
			return nil, fail(ClassMalformed, "csv header: %v", err)
		}
		if len(h) > f.limits.columns() {
			return nil, fail(ClassTooLarge, "csv header of %d columns, more than the limit of %d", len(h), f.limits.columns())
		}
		cols = slices.Clone(h)
		if err := f.checkColumns(cols); err != nil {
			return nil, fail(ClassMalformed, "csv header: %v", err)
		}
	}
	var docs []Document
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fail(ClassMalformed, "csv: %v", err)
		}
		if len(row) == 1 && row[0] == "" {
			continue // a blank line
		}
		if len(row) != len(cols) {
			line, _ := r.FieldPos(0)
			return nil, fail(ClassMalformed, "csv line %d: %d fields, want %d (%s)", line, len(row), len(cols), trimList(cols))
		}
		if len(docs) >= f.limits.documents() {
			return nil, fail(ClassTooLarge, "more than %d rows in one record", f.limits.documents())
		}
		d := make(Document, len(cols))
		for i, v := range row {
			if f.trim {
				v = trimSpace(v)
			}
			if slices.Contains(f.nulls, v) {
				d[cols[i]] = nil
				continue
			}
			d[cols[i]] = toValidString(v)
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		return nil, fail(ClassMalformed, "csv: no rows in the record")
	}
	return docs, nil
}

func trimSpace(s string) string { return string(bytes.TrimSpace([]byte(s))) }

func toValidString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(toValidUTF8([]byte(s)))
}

func trimList(cols []string) string {
	if len(cols) > 5 {
		return fmt.Sprintf("%v…", cols[:5])
	}
	return fmt.Sprint(cols)
}
