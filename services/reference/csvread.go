package reference

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"io"
	"math/bits"
)

// csvReader splits CSV into records exactly as encoding/csv.Reader does
// with its defaults and FieldsPerRecord = -1 (RFC 4180, comma-separated,
// LazyQuotes off, empty lines skipped, \r\n read as \n, the same
// *csv.ParseError for a bare or extraneous quote), but without its cost
// per record: a line without a double quote, the usual case, is split at
// its commas straight from a large read buffer, and the fields of the
// lines read together are substrings of one string. Lines with a quote go
// through readRecord, a port of encoding/csv's own parser. The
// equivalence is tested against encoding/csv on arbitrary input
// (FuzzCSVReader).
type csvReader struct {
	src  io.Reader
	buf  []byte
	r, w int   // buf[r:w] is read from src but not yet consumed
	err  error // what src returned after buf[:w]; io.EOF at its end
	line int   // lines consumed, encoding/csv's numLine
	// partial is how many bytes from r are known to hold no newline,
	// when the fast path stopped there; they are not searched again.
	partial int

	// rows is the fast path's scratch: the quote-free lines found, as
	// offsets from the first one's start.
	rows []lineSpan

	// readRecord's record: its bytes, where each field ends in them and
	// each field's line.
	recBuf []byte
	ends   []int
	lines  []int
}

type lineSpan struct{ start, end, line int }

// csvBufSize is the read buffer's initial size: batches of rows must
// usually fit in it, as the fast path splits what it holds.
const csvBufSize = 256 << 10

func newCSVReader(src io.Reader, bufSize int) *csvReader {
	if bufSize <= 0 {
		bufSize = csvBufSize
	}
	return &csvReader{src: src, buf: make([]byte, bufSize)}
}

// raggedError is a row whose field count is not the header's.
type raggedError struct{ line, fields int }

func (e *raggedError) Error() string { return "ragged row" }

// readRows appends up to n records to b (its width is the header's, and a
// record of another width is a *raggedError, unless width < 0). It
// returns nil after n records, else io.EOF, a *csv.ParseError, a
// *raggedError or the error src returned, after the records before it.
func (c *csvReader) readRows(b *rowBatch, n, width int) error {
	for b.len() < n {
		stop, err := c.readFast(b, n, width)
		if err != nil {
			return err
		}
		switch {
		case b.len() >= n:
			return nil
		case stop == stopRegion:
			continue
		case stop == stopPartial && c.err == nil:
			c.fill()
			continue
		}
		// The next line has a quote, or the input ends or failed.
		if err := c.readRecord(); err != nil {
			return err
		}
		if err := c.addRecord(b, width); err != nil {
			return err
		}
	}
	return nil
}

// Why readFast stopped, besides a full batch.
const (
	stopQuote   = iota // before a line with a quote
	stopPartial        // before an incomplete line, or at the end of the buffer
	stopRegion         // at maxRegion bytes
)

// maxRegion bounds the bytes readFast turns into one string, so that it
// is a small object for the allocator rather than pages of its own,
// which took more memory.
const maxRegion = 32 << 10

// readFast appends the records of the complete quote-free lines at the
// start of the buffer, up to n in b and maxRegion bytes, and consumes
// them; it stops before any other line.
func (c *csvReader) readFast(b *rowBatch, n, width int) (stop int, err error) {
	start, p := c.r, c.r
	line := c.line
	rows := c.rows[:0]
	skip := c.partial
	c.partial = 0
	for b.len()+len(rows) < n {
		i := bytes.IndexByte(c.buf[p+skip:c.w], '\n')
		if i >= 0 {
			i += skip
		}
		skip = 0
		end, next := p+i, p+i+1
		if i < 0 {
			if c.err != io.EOF || p == c.w {
				stop, c.partial = stopPartial, c.w-p // incomplete, failed, or nothing left
				break
			}
			end, next = c.w, c.w // the last line, without a newline
		}
		// encoding/csv reads \r\n as \n, and drops a \r before EOF.
		if end > p && c.buf[end-1] == '\r' {
			end--
		}
		if bytes.IndexByte(c.buf[p:end], '"') >= 0 {
			break
		}
		if end-start > maxRegion && len(rows) > 0 {
			stop = stopRegion
			break
		}
		line++
		if end > p { // empty lines are skipped
			rows = append(rows, lineSpan{p - start, end - start, line})
		}
		p = next
	}
	c.rows = rows
	if len(rows) == 0 {
		c.r, c.line = p, line
		return stop, nil
	}
	s := string(c.buf[start : rows[len(rows)-1].end+start]) // one allocation for the lines
	// Local slices keep their lengths in registers.
	fields, lines := b.fields, b.lines
	for _, l := range rows {
		k := len(fields)
		// Fields are short, so rather than calling IndexByte per field,
		// find the commas of 8 bytes at a time in the buffer's copy of
		// s (SWAR: y marks the bytes equal to a comma).
		raw := c.buf[start+l.start : start+l.end]
		from, j := l.start, 0
		for ; j+8 <= len(raw); j += 8 {
			x := binary.LittleEndian.Uint64(raw[j:]) ^ (0x0101010101010101 * ',')
			y := ^((x&0x7f7f7f7f7f7f7f7f + 0x7f7f7f7f7f7f7f7f) | x | 0x7f7f7f7f7f7f7f7f)
			for y != 0 {
				at := l.start + j + bits.TrailingZeros64(y)>>3
				fields = append(fields, s[from:at])
				from = at + 1
				y &= y - 1
			}
		}
		for ; j < len(raw); j++ {
			if raw[j] == ',' {
				at := l.start + j
				fields = append(fields, s[from:at])
				from = at + 1
			}
		}
		fields = append(fields, s[from:l.end])
		if got := len(fields) - k; width >= 0 && got != width {
			b.fields, b.lines = fields[:k], lines
			// Consume through the ragged line only, as encoding/csv.
			c.r, c.line = start+l.end, l.line
			c.skipNewline()
			c.partial = 0
			return stop, &raggedError{line: l.line, fields: got}
		}
		lines = append(lines, l.line)
	}
	b.fields, b.lines = fields, lines
	c.r, c.line = p, line
	return stop, nil
}

// skipNewline consumes the rest of a line whose content ended at c.r.
func (c *csvReader) skipNewline() {
	if c.r < c.w && c.buf[c.r] == '\r' {
		c.r++
	}
	if c.r < c.w && c.buf[c.r] == '\n' {
		c.r++
	}
}

// addRecord appends readRecord's record to b.
func (c *csvReader) addRecord(b *rowBatch, width int) error {
	if width >= 0 && len(c.ends) != width {
		return &raggedError{line: c.lines[0], fields: len(c.ends)}
	}
	s := string(c.recBuf)
	prev := 0
	for _, e := range c.ends {
		b.fields = append(b.fields, s[prev:e])
		prev = e
	}
	if first, last := c.lines[0], c.lines[len(c.lines)-1]; last != first {
		b.spans[b.len()] = append([]int(nil), c.lines...)
	}
	b.lines = append(b.lines, c.lines[0])
	return nil
}

// fill reads more input into the buffer, moving the unread bytes to its
// start and growing it when they fill it.
func (c *csvReader) fill() {
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.buf) {
		c.buf = append(c.buf, make([]byte, len(c.buf))...)
	}
	// Like bufio, give up on a reader that keeps returning nothing.
	for range 100 {
		n, err := c.src.Read(c.buf[c.w:])
		c.w += n
		if err != nil {
			c.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	c.err = io.ErrNoProgress
}

// readLine is encoding/csv's readLine: the next line with its newline
// (\r\n read as \n; a \r before EOF dropped), and the error that ended
// the input when the line is its last.
func (c *csvReader) readLine() ([]byte, error) {
	var line []byte
	var err error
	scanned := c.partial
	c.partial = 0
	for {
		if i := bytes.IndexByte(c.buf[c.r+scanned:c.w], '\n'); i >= 0 {
			line = c.buf[c.r : c.r+scanned+i+1]
			break
		}
		if c.err != nil {
			line, err = c.buf[c.r:c.w], c.err
			break
		}
		scanned = c.w - c.r // no newline there: do not search it again
		c.fill()
	}
	c.r += len(line)
	readSize := len(line)
	if readSize > 0 && err == io.EOF {
		err = nil
		if line[readSize-1] == '\r' {
			line = line[:readSize-1]
		}
	}
	c.line++
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// readRecord is encoding/csv's readRecord for a comma, no comment
// character, LazyQuotes and TrimLeadingSpace off: it reads the next
// record into c.recBuf, c.ends and c.lines, or returns io.EOF, a
// *csv.ParseError or the error src returned.
func (c *csvReader) readRecord() error {
	// Read a line, skipping empty lines.
	var line []byte
	var errRead error
	for errRead == nil {
		line, errRead = c.readLine()
		if errRead == nil && len(line) == lengthNL(line) {
			line = nil
			continue
		}
		break
	}
	if errRead == io.EOF {
		return errRead
	}

	var err error
	recLine := c.line
	c.recBuf, c.ends, c.lines = c.recBuf[:0], c.ends[:0], c.lines[:0]
	posLine, posCol := c.line, 1
parseField:
	for {
		if len(line) == 0 || line[0] != '"' {
			// A field without quotes.
			i := bytes.IndexByte(line, ',')
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			if j := bytes.IndexByte(field, '"'); j >= 0 {
				err = &csv.ParseError{StartLine: recLine, Line: c.line, Column: posCol + j, Err: csv.ErrBareQuote}
				break parseField
			}
			c.recBuf = append(c.recBuf, field...)
			c.ends = append(c.ends, len(c.recBuf))
			c.lines = append(c.lines, posLine)
			if i >= 0 {
				line = line[i+1:]
				posCol += i + 1
				continue parseField
			}
			break parseField
		}
		// A quoted field.
		fieldLine := posLine
		line = line[1:]
		posCol++
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				c.recBuf = append(c.recBuf, line[:i]...)
				line = line[i+1:]
				posCol += i + 1
				switch {
				case len(line) > 0 && line[0] == '"': // "" is a quote
					c.recBuf = append(c.recBuf, '"')
					line = line[1:]
					posCol++
				case len(line) > 0 && line[0] == ',': // the field ends
					line = line[1:]
					posCol++
					c.ends = append(c.ends, len(c.recBuf))
					c.lines = append(c.lines, fieldLine)
					continue parseField
				case lengthNL(line) == len(line): // the record ends
					c.ends = append(c.ends, len(c.recBuf))
					c.lines = append(c.lines, fieldLine)
					break parseField
				default:
					err = &csv.ParseError{StartLine: recLine, Line: c.line, Column: posCol - 1, Err: csv.ErrQuote}
					break parseField
				}
			case len(line) > 0:
				// The field goes on on the next line.
				c.recBuf = append(c.recBuf, line...)
				if errRead != nil {
					break parseField
				}
				posCol += len(line)
				line, errRead = c.readLine()
				if len(line) > 0 {
					posLine++
					posCol = 1
				}
				if errRead == io.EOF {
					errRead = nil
				}
			default:
				// The input ends inside the quotes.
				if errRead == nil {
					err = &csv.ParseError{StartLine: recLine, Line: posLine, Column: posCol, Err: csv.ErrQuote}
					break parseField
				}
				c.ends = append(c.ends, len(c.recBuf))
				c.lines = append(c.lines, fieldLine)
				break parseField
			}
		}
	}
	if err == nil {
		err = errRead
	}
	return err
}
