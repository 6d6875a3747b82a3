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
					features[i] = categoricalProfile(c.name, c.cats.counts(), c.missing)
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
			cats:    newDistinct(),
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
	cats      *distinct // nil once dropped
}

func (c *column) add(v string, maxDistinct int) error {
	if isMissing(v) {
		c.missing++
		return nil
	}
	var key uint64
	if c.numeric {
		f, ok, k := parseNumberKey(v)
		key = k
		if !ok {
			c.numeric = false
			c.floats = nil
			if c.cats != nil {
				c.cats.textsOnly()
			}
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
	if c.cats.inc(v, key) {
		return nil
	}
	if !utf8.ValidString(v) {
		return errors.New("value is not valid UTF-8")
	}
	if c.cats.len() >= maxDistinct {
		c.cats = nil
		if c.numeric {
			return nil
		}
		return fmt.Errorf("more than %d distinct values, so not a categorical feature; leave it out with Options.Exclude or raise Options.MaxDistinct", maxDistinct)
	}
	c.cats.add(v, key)
	return nil
}

// distinct counts a column's values by their text. Numbers, which most
// values of most columns are, are counted by their decimalKey when they
// have one: a map of integers is cheaper than one of strings, and a key
// needs no copy of its text.
type distinct struct {
	n      []int64 // the count of each distinct value
	byText map[string]int32
	byKey  map[uint64]int32 // nil once texts only
}

func newDistinct() *distinct {
	return &distinct{byText: map[string]int32{}, byKey: map[uint64]int32{}}
}

func (d *distinct) len() int { return len(d.n) }

// inc counts v, whose decimalKey is key, if it was seen before.
func (d *distinct) inc(v string, key uint64) bool {
	var i int32
	var ok bool
	if key != 0 && d.byKey != nil {
		i, ok = d.byKey[key]
	} else {
		i, ok = d.byText[v]
	}
	if ok {
		d.n[i]++
	}
	return ok
}

// add counts v, whose decimalKey is key, seen for the first time.
func (d *distinct) add(v string, key uint64) {
	i := int32(len(d.n))
	d.n = append(d.n, 1)
	if key != 0 && d.byKey != nil {
		d.byKey[key] = i
		return
	}
	// Lines share strings; a key must not pin them.
	d.byText[strings.Clone(v)] = i
}

// textsOnly counts every value by text from now on, when values are no
// longer parsed.
func (d *distinct) textsOnly() {
	for k, i := range d.byKey {
		d.byText[decimalText(k)] = i
	}
	d.byKey = nil
}

func (d *distinct) counts() map[string]int64 {
	m := make(map[string]int64, len(d.n))
	for t, i := range d.byText {
		m[t] = d.n[i]
	}
	for k, i := range d.byKey {
		m[decimalText(k)] = d.n[i]
	}
	return m
}

// parseNumber parses a decimal floating-point number as pandas would read
// one: Go's hexadecimal floats and digit separators do not count.
func parseNumber(s string) (float64, bool) {
	f, ok, _ := parseNumberKey(s)
	return f, ok
}

// parseNumberKey is parseNumber, also returning the decimalKey of a
// number written in plain decimal (0 when not: see decimalKey).
func parseNumberKey(s string) (f float64, ok bool, key uint64) {
	t := trimSpace(s)
	if f, key, ok := parseSimple(t); ok {
		if len(t) != len(s) {
			key = 0 // the spaces are part of the text
		}
		return f, true, key
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c == '_' || c == 'x' || c == 'X' {
			return 0, false, 0
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false, 0
	}
	return f, true, 0
}

// A decimalKey identifies a number written in plain decimal: a minus sign
// or none, then digits without leading zeros (but for a lone 0), then
// none or a point and digits not ending in 0, at most 2^53 - 1 without the
// point and at most 22 after it ("12", "-0.05", "-0"). Such a text is a
// function of its key, its significand m, scale (digits after the point)
// and sign, so that counting a column's texts can count keys instead (see
// distinct): 1<<63 | neg<<58 | scale<<53 | m. The key of any other text
// is 0.
func decimalText(key uint64) string {
	m, scale, neg := key&(1<<53-1), int(key>>53&31), key>>58&1 == 1
	digits := strconv.FormatUint(m, 10)
	if scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale+1-len(digits)) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// pow10 holds the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseSimple parses the usual numbers of a CSV file, such as "-12.345",
// "42" or "1e-3", several times faster than strconv.ParseFloat and to the
// same float64: with at most 19 significant digits m and a power of ten
// p, when m < 2^53 and |p| <= 22 both are exact as float64s, so one
// multiplication or division rounds to the nearest float64 to m·10^p
// (Clinger's fast path, also strconv's first). ok is false for anything
// else (other forms, more digits, larger powers), left to
// strconv.ParseFloat. key is s's decimalKey.
func parseSimple(s string) (f float64, key uint64, ok bool) {
	i := 0
	neg, plain := false, true
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		plain = neg
		i++
	}
	var m uint64
	start := i
	for ; i < len(s) && s[i]-'0' <= 9; i++ {
		m = m*10 + uint64(s[i]-'0')
	}
	// Plain: one integer digit, or no leading zero.
	intDigits := i - start
	plain = plain && (intDigits == 1 || intDigits > 1 && s[start] != '0')
	exp := 0 // the power of ten
	if i < len(s) && s[i] == '.' {
		i++
		frac := i
		for ; i < len(s) && s[i]-'0' <= 9; i++ {
			m = m*10 + uint64(s[i]-'0')
		}
		exp = frac - i
		plain = plain && exp < 0 && s[i-1] != '0'
	}
	// More than 19 digits (leading zeros too, for simplicity) could
	// overflow m: strconv's.
	if digits := intDigits - exp; digits == 0 || digits > 19 {
		return 0, 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		plain = false
		i++
		eneg := false
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			eneg = s[i] == '-'
			i++
		}
		start, e := i, 0
		for ; i < len(s) && s[i]-'0' <= 9; i++ {
			if e < 10000 {
				e = e*10 + int(s[i]-'0')
			}
		}
		if i == start {
			return 0, 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(s) || m >= 1<<53 || exp < -22 || exp > 22 {
		return 0, 0, false
	}
	f = float64(m)
	if exp < 0 {
		f /= pow10[-exp]
	} else {
		f *= pow10[exp]
	}
	if plain {
		key = 1<<63 | uint64(-exp)<<53 | m
		if neg {
			key |= 1 << 58
		}
	}
	if neg {
		f = -f
	}
	return f, key, true
}
