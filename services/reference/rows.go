package reference

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// RowReader reads a CSV file one row at a time with the rules FromCSV
// profiles a reference by (RFC 4180, comma-separated, a header row, a
// UTF-8 byte-order mark ignored, ragged rows an error naming the line), so
// that data compared with a reference is read the way the reference was.
// It holds one row in memory, besides a read buffer (see csvReader, which
// splits rows as encoding/csv does); IsMissing and ParseNumeric interpret
// its fields as FromCSV does.
type RowReader struct {
	name   string
	cr     *csvReader
	header []string
	// last holds the row Next returned last (the header's before), for
	// Errorf's line numbers.
	last *rowBatch
	err  error // the error every read returns once one has
}

// NewRowReader reads the header row of r. name names the input in errors
// ("current CSV" when empty).
func NewRowReader(r io.Reader, name string) (*RowReader, error) {
	return newRowReader(r, name, csvBufSize)
}

// newRowReader is NewRowReader with a read buffer of bufSize bytes to
// start with (tests try small ones).
func newRowReader(r io.Reader, name string, bufSize int) (*RowReader, error) {
	if name == "" {
		name = "current CSV"
	}
	rr := &RowReader{name: name, cr: newCSVReader(r, bufSize), last: newRowBatch(-1)}
	err := rr.cr.readRows(rr.last, 1, -1)
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty input: a header row is required", name)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	header := append([]string(nil), rr.last.fields...)
	header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	rr.header = header
	rr.last.width = len(header)
	return rr, nil
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
// header's is an error naming the line, as are CSV syntax errors; once
// Next has returned an error, it returns that error again.
func (r *RowReader) Next() ([]string, error) {
	if err := r.readBatch(r.last, 1); err != nil {
		return nil, err
	}
	return r.last.row(0), nil
}

// rowBatch holds consecutive data rows for readers that hand rows to
// other goroutines: its rows are its own, unlike Next's, and it keeps each
// field's line for errors.
type rowBatch struct {
	first  int      // index of the first row among the data rows, from 0
	width  int      // fields per row, the header's
	fields []string // row i is fields[i*width : (i+1)*width]
	lines  []int    // the line of row i's first field
	// spans holds, for the rare rows spanning several lines (a quoted
	// field with a newline), the line of each field.
	spans   map[int][]int
	pending atomic.Int32 // goroutines still reading the batch
}

func newRowBatch(width int) *rowBatch {
	return &rowBatch{width: width, spans: map[int][]int{}}
}

func (b *rowBatch) len() int { return len(b.lines) }

func (b *rowBatch) row(i int) []string { return b.fields[i*b.width : (i+1)*b.width] }

// line returns the line of field j of row i.
func (b *rowBatch) line(i, j int) int {
	if l, ok := b.spans[i]; ok {
		return l[j]
	}
	return b.lines[i]
}

// readBatch replaces b's rows with the next n rows (fewer at the end). It
// returns io.EOF, or the error Next returns, after the rows before it; b
// then holds those rows, possibly none.
func (r *RowReader) readBatch(b *rowBatch, n int) error {
	b.fields, b.lines = b.fields[:0], b.lines[:0]
	clear(b.spans)
	if r.err != nil {
		return r.err
	}
	err := r.cr.readRows(b, n, len(r.header))
	var ragged *raggedError
	switch {
	case err == nil:
		return nil
	case err == io.EOF:
	case errors.As(err, &ragged):
		err = fmt.Errorf("%s:%d: row has %d fields, the header has %d", r.name, ragged.line, ragged.fields, len(r.header))
	default:
		err = csvError(r.name, err)
	}
	r.err = err
	return err
}

// batchRows is how many rows ForEachField's reader hands its workers at
// once.
const batchRows = 512

// ForEachField reads the remaining rows and calls add(k, field) with the
// field at index columns[k] of each row. The calls for one k come from one
// goroutine, in row order; calls for different k run concurrently, on up
// to GOMAXPROCS goroutines, which the calling goroutine feeds with batches
// of rows (parsing the values is usually the work, and columns are
// independent). It returns the number of rows, or the error a row-by-row
// read would meet first: the earliest row's, and in a row the first k's.
// An error from add is returned as Errorf returns it, naming the line and
// the column. ctx is checked between batches. A field shares its memory
// with the batch's other rows: add should keep a copy (strings.Clone) of
// a field it keeps, or it keeps the batch.
func (r *RowReader) ForEachField(ctx context.Context, columns []int, add func(k int, field string) error) (int, error) {
	workers := max(1, min(runtime.GOMAXPROCS(0), len(columns)))
	own := make([][]int, workers) // the ks each worker adds
	for k := range columns {
		own[k%workers] = append(own[k%workers], k)
	}
	feeds := make([]chan *rowBatch, workers)
	free := make(chan *rowBatch, 2*workers+2)
	failed := make([]*fieldError, workers)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		feeds[w] = make(chan *rowBatch, 2)
		wg.Go(func() {
			for b := range feeds[w] {
				if failed[w] == nil {
					failed[w] = r.addBatch(b, columns, own[w], add)
					if failed[w] != nil {
						stop.Store(true)
					}
				}
				if b.pending.Add(-1) == 0 {
					recycle(free, b)
				}
			}
		})
	}

	rows, readAt := 0, 0
	var readErr error
	for !stop.Load() {
		if err := ctx.Err(); err != nil {
			readErr, readAt = err, rows
			break
		}
		var b *rowBatch
		select {
		case b = <-free:
		default:
			b = newRowBatch(len(r.header))
		}
		b.first = rows
		err := r.readBatch(b, batchRows)
		if n := b.len(); n > 0 {
			rows += n
			b.pending.Store(int32(workers))
			for _, f := range feeds {
				f <- b
			}
		} else {
			recycle(free, b)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr, readAt = err, rows
			break
		}
	}
	for _, f := range feeds {
		close(f)
	}
	wg.Wait()

	var first *fieldError
	for _, e := range failed {
		if e != nil && (first == nil || e.row < first.row || e.row == first.row && e.k < first.k) {
			first = e
		}
	}
	if first != nil && (readErr == nil || first.row < readAt) {
		return 0, first.err
	}
	if readErr != nil {
		return 0, readErr
	}
	return rows, nil
}

// fieldError is add's error for column k at a row.
type fieldError struct {
	row, k int
	err    error
}

// addBatch calls add for the batch's rows and the columns ks.
func (r *RowReader) addBatch(b *rowBatch, columns, ks []int, add func(int, string) error) *fieldError {
	for i := range b.len() {
		row := b.row(i)
		for _, k := range ks {
			j := columns[k]
			if err := add(k, row[j]); err != nil {
				return &fieldError{row: b.first + i, k: k,
					err: fmt.Errorf("%s:%d: column %q: %w", r.name, b.line(i, j), r.header[j], err)}
			}
		}
	}
	return nil
}

// recycle keeps b for reuse unless enough batches wait already; it never
// blocks, so a worker cannot wait on the reader that waits on it.
func recycle(free chan *rowBatch, b *rowBatch) {
	select {
	case free <- b:
	default:
	}
}

// Errorf returns an error about field i of the row Next returned last,
// naming the input, the field's line and its column, as in
// `cur.csv:12: column "age": value is not a number`.
func (r *RowReader) Errorf(i int, format string, args ...any) error {
	line := 0
	if r.last.len() > 0 {
		line = r.last.line(0, i)
	}
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
