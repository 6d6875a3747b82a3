package reference

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/driftline/driftline/schemas"
)

// DefaultMaxDistinct is the default for Options.MaxDistinct.
const DefaultMaxDistinct = 100_000

// Options configure FromCSV.
type Options struct {
	// Name names the input in errors, typically the file name.
	Name         string
	ModelID      string
	ModelVersion string
	// Categorical lists columns to profile as categorical even when every
	// value is a number (integer-coded categories such as zip codes).
	Categorical []string
	// Columns, when set, lists the only columns to profile; Exclude lists
	// columns to leave out. Every name in Categorical, Columns and Exclude
	// must be in the header, so a typo fails loudly.
	Columns []string
	Exclude []string
	// CreatedAt stamps the profile; zero means now.
	CreatedAt time.Time
	// MaxDistinct bounds the distinct values counted per categorical column
	// (0 means DefaultMaxDistinct), which bounds memory: a column with more
	// is an identifier or free text rather than a feature, and FromCSV
	// fails naming it. Below the bound, a profile keeps the MaxCategories
	// most frequent categories and pools the rest (see the package comment).
	MaxDistinct int
}

// FromCSV builds a reference profile from a CSV file with a header row
// (RFC 4180, comma-separated; a UTF-8 byte-order mark is ignored). Columns
// with an empty header name, such as the index column pandas writes, are
// skipped. A field is missing when it is empty or NA, NaN, null or None in
// any case; ±Inf (and numbers too large for a float64) are missing in
// numeric columns, as Evidently drops them. A column is numeric when every
// non-missing value is a decimal number (spaces around it allowed), else
// categorical, with each value as written.
//
// Errors name the input, the line and the column, as in
//
//	ref.csv:12: row has 3 fields, the header has 4
//	ref.csv:40: column "city": value is not valid UTF-8
//
// The numeric values of the selected columns are held in memory (8 bytes
// each) until the profile is built.
func FromCSV(r io.Reader, opts Options) (*schemas.ReferenceProfile, error) {
	name := opts.Name
	if name == "" {
		name = "reference CSV"
	}
	maxDistinct := opts.MaxDistinct
	if maxDistinct <= 0 {
		maxDistinct = DefaultMaxDistinct
	}
	rr, err := NewRowReader(r, name)
	if err != nil {
		return nil, err
	}
	header := rr.Header()

	cols, err := selectColumns(name, header, opts)
	if err != nil {
		return nil, err
	}

	index := make([]int, len(cols))
	for k, c := range cols {
		index[k] = c.index
	}
	// Parsing the values is most of the work, and every column is
	// independent: ForEachField reads them on every CPU.
	rows, err := rr.ForEachField(context.Background(), index, func(k int, field string) error {
		return cols[k].add(field, maxDistinct)
	})
	if err != nil {
		return nil, err
	}
	if rows == 0 {
		return nil, fmt.Errorf("%s: no data rows", name)
	}
	features := make([]schemas.FeatureProfile, len(cols))
	workers := min(runtime.GOMAXPROCS(0), len(cols))
	next := make(chan int, len(cols))
	for i := range cols {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				c := cols[i]
				if c.numeric {
					features[i] = numericProfile(c.name, c.floats, c.missing+c.nonFinite)
				} else {
					features[i] = categoricalProfile(c.name, c.cats, c.missing)
				}
				c.floats, c.cats = nil, nil
			}
		})
	}
	wg.Wait()
	return newProfile(opts.ModelID, opts.ModelVersion, features, int64(rows), opts.CreatedAt), nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d:%d: %w", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: read: %w", name, err)
}

// selectColumns applies Columns, Exclude and Categorical to the header.
func selectColumns(name string, header []string, opts Options) ([]*column, error) {
	index := make(map[string]int, len(header))
	for i, h := range header {
		if h == "" {
			continue
		}
		if j, dup := index[h]; dup {
			return nil, fmt.Errorf("%s:1: column %q appears twice (fields %d and %d)", name, h, j+1, i+1)
		}
		index[h] = i
	}
	set := func(option string, names []string) (map[string]bool, error) {
		m := make(map[string]bool, len(names))
		for _, n := range names {
			if _, ok := index[n]; !ok {
				return nil, fmt.Errorf("%s: Options.%s: no column %q in the header", name, option, n)
			}
			m[n] = true
		}
		return m, nil
	}
	only, err := set("Columns", opts.Columns)
	if err != nil {
		return nil, err
	}
	exclude, err := set("Exclude", opts.Exclude)
	if err != nil {
		return nil, err
	}
	categorical, err := set("Categorical", opts.Categorical)
	if err != nil {
		return nil, err
	}
	var cols []*column
	for i, h := range header {
		if h == "" || exclude[h] || len(only) > 0 && !only[h] {
			continue
		}
		cols = append(cols, &column{
			name:    h,
			index:   i,
			numeric: !categorical[h],
			cats:    make(map[string]int64),
		})
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%s: no columns to profile", name)
	}
	return cols, nil
}

// column accumulates one CSV column. Its kind is known only at the end, so
// while every value parses as a number it keeps both the numbers and the
// category counts, and drops the counts once they pass MaxDistinct.
type column struct {
	name      string
	index     int
	numeric   bool // every non-missing value so far is a number
	floats    []float64
	nonFinite int64 // NaN or ±Inf numbers: missing if the column stays numeric
	missing   int64
	cats      map[string]int64 // nil once dropped
}

func (c *column) add(v string, maxDistinct int) error {
	if isMissing(v) {
		c.missing++
		return nil
	}
	if c.numeric {
		if f, ok := parseNumber(v); !ok {
			c.numeric = false
			c.floats = nil
		} else if math.IsNaN(f) || math.IsInf(f, 0) {
			c.nonFinite++
		} else {
			c.floats = append(c.floats, f)
		}
	}
	if c.cats == nil {
		if c.numeric {
			return nil
		}
		return fmt.Errorf("more than %d distinct values, so not a categorical feature; leave it out with Options.Exclude or raise Options.MaxDistinct", maxDistinct)
	}
	if n, ok := c.cats[v]; ok {
		c.cats[v] = n + 1
		return nil
	}
	if !utf8.ValidString(v) {
		return errors.New("value is not valid UTF-8")
	}
	if len(c.cats) >= maxDistinct {
		c.cats = nil
		if c.numeric {
			return nil
		}
		return fmt.Errorf("more than %d distinct values, so not a categorical feature; leave it out with Options.Exclude or raise Options.MaxDistinct", maxDistinct)
	}
	// The record's fields share one string; a key must not pin the line.
	c.cats[strings.Clone(v)] = 1
	return nil
}

// parseNumber parses a decimal floating-point number as pandas would read
// one: Go's hexadecimal floats and digit separators do not count.
func parseNumber(s string) (float64, bool) {
	s = trimSpace(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '_' || c == 'x' || c == 'X' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}
