package normalize

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"time"
)

// Framings: how a byte stream (the input of `driftline adapt`) is split
// into records.
const (
	// FramingAuto picks by format: lines for jsonl and csv, a stream of
	// JSON values for json, top-level elements for xml, length prefixes
	// for avro and protobuf.
	FramingAuto = "auto"
	// FramingLines: one record per line (csv: a quoted field may span
	// lines).
	FramingLines = "lines"
	// FramingValues: a stream of JSON values, each one record.
	FramingValues = "values"
	// FramingElements: each top-level XML element is one record.
	FramingElements = "elements"
	// FramingLength: each record is a 4-byte big-endian length and that
	// many bytes.
	FramingLength = "length"
	// FramingWhole: the whole input is one record.
	FramingWhole = "whole"
)

// StreamRecord is one record of a stream and what became of it: Events, or
// Err (a *Failure) with its Stage.
type StreamRecord struct {
	Index  int64 // 0-based record number in the stream
	Value  []byte
	Events []Event
	Stage  string
	Err    error
}

// StreamOptions tune Stream.
type StreamOptions struct {
	Format  string // "" is the source's own format
	Framing string // "" is FramingAuto
	// MaxInput bounds what the json and xml framings read into memory
	// (they need the whole input to cut values out); default 1 GiB.
	MaxInput int64
	Now      func() time.Time
}

// Stream runs the source over a byte stream, the way `driftline adapt`
// does: it splits r into records, decodes each (and detects duplicates if
// the source does), and calls fn once per record, in order. It returns an
// error only when reading r fails or fn does: every record read ends up in
// fn as events or as a failure.
func (s *Source) Stream(r io.Reader, opts StreamOptions, fn func(StreamRecord) error) error {
	format := opts.Format
	if format == "" {
		format = s.format
	}
	f, ok := s.formats[format]
	if !ok {
		if s.missing[format] != nil {
			return fmt.Errorf("source %q: format %s: %v", s.Name, format, s.missing[format])
		}
		return fmt.Errorf("source %q: unknown format %q", s.Name, format)
	}
	framing := opts.Framing
	if framing == "" || framing == FramingAuto {
		framing = map[string]string{FormatJSON: FramingValues, FormatJSONLines: FramingLines, FormatCSV: FramingLines,
			FormatXML: FramingElements, FormatAvro: FramingLength, FormatProtobuf: FramingLength}[format]
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var dedup *Dedup
	if s.Dedup.Enabled() {
		dedup = NewDedup(s.Dedup)
	}
	src := *s
	src.format = format
	var index int64
	header := false
	if cf, ok := f.(*csvFormat); ok && cf.columns == nil {
		header = true // the stream's first line is the header
	}
	emit := func(value []byte) error {
		if header {
			header = false
			hf, err := f.(*csvFormat).WithHeader(value)
			if err != nil {
				return fmt.Errorf("source %q: %w", s.Name, err)
			}
			src.formats = cloneFormats(s.formats)
			src.formats[FormatCSV] = hf
			return nil
		}
		rec := StreamRecord{Index: index, Value: value, Stage: StageDecode}
		index++
		rec.Events, rec.Err = src.Decode(value, "")
		if rec.Err != nil && ClassOf(rec.Err) == "internal" {
			return fmt.Errorf("record %d: %w", rec.Index, rec.Err)
		}
		if rec.Err == nil && dedup != nil {
			if fl := dedup.CheckDuplicates(rec.Events, 0, rec.Index, now()); fl != nil {
				rec.Events, rec.Err, rec.Stage = nil, fl, StageDedup
			}
		}
		if rec.Err != nil {
			rec.Events = nil
		}
		return fn(rec)
	}
	limit := s.Limits.recordBytes()
	maxInput := opts.MaxInput
	if maxInput <= 0 {
		maxInput = 1 << 30
	}
	switch framing {
	case FramingLines:
		return splitLines(r, limit, format == FormatCSV, emit)
	case FramingValues:
		b, err := readAll(r, maxInput)
		if err != nil {
			return err
		}
		return splitJSONValues(b, s.Limits.depth(), emit)
	case FramingElements:
		b, err := readAll(r, maxInput)
		if err != nil {
			return err
		}
		return splitXMLElements(b, emit)
	case FramingLength:
		return splitLengthPrefixed(r, limit, emit)
	case FramingWhole:
		b, err := readAll(r, int64(limit)+1)
		if err != nil && !errors.Is(err, errInputTooLarge) {
			return err
		}
		if len(b) == 0 {
			return nil
		}
		return emit(b)
	}
	return fmt.Errorf("unknown framing %q (want auto, lines, values, elements, length or whole)", framing)
}

func cloneFormats(m map[string]Format) map[string]Format {
	out := make(map[string]Format, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var errInputTooLarge = errors.New("input too large")

// readAll reads r up to max bytes; past that it returns what it read and
// errInputTooLarge.
func readAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	if int64(len(b)) > max {
		return b[:max], fmt.Errorf("%w: more than %d bytes; split it, or raise the limit", errInputTooLarge, max)
	}
	return b, nil
}

// splitLines calls emit for every non-blank line (without its line break).
// A line longer than limit is cut at limit+1 bytes, so that it is refused
// as too large; the rest of it is skipped. With csv, a line break inside a
// quoted field continues the record.
func splitLines(r io.Reader, limit int, csv bool, emit func([]byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	quotes := 0
	over := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !over {
			if len(line)+len(chunk) > limit+1 {
				line = append(line, chunk[:limit+1-len(line)]...)
				over = true
			} else {
				line = append(line, chunk...)
				if csv {
					quotes += bytes.Count(chunk, []byte{'"'})
				}
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read input: %w", err)
		}
		if err == nil && csv && quotes%2 == 1 && !over {
			continue // inside a quoted field
		}
		rec := bytes.TrimRight(line, "\r\n")
		if !over {
			rec = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
		}
		if len(bytes.TrimSpace(rec)) > 0 {
			if e := emit(bytes.Clone(rec)); e != nil {
				return e
			}
		}
		line, quotes, over = line[:0], 0, false
		if err == io.EOF {
			return nil
		}
	}
}

// splitJSONValues calls emit for each JSON value of b; from the first
// value that does not parse, the rest of b is one (malformed) record.
func splitJSONValues(b []byte, depth int, emit func([]byte) error) error {
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		if len(b) == 0 {
			return nil
		}
		n, err := skipJSONValue(b, depth)
		if err != nil {
			return emit(bytes.TrimRight(b, " \t\r\n"))
		}
		if e := emit(b[:n]); e != nil {
			return e
		}
		b = b[n:]
	}
}

// splitXMLElements calls emit for each top-level element of b (an XML
// declaration, comments and whitespace between them are dropped); from the
// first syntax error the rest of b is one (malformed) record.
func splitXMLElements(b []byte, emit func([]byte) error) error {
	dec := newXMLDecoder(b)
	depth := 0
	var start int64
	pending := false // a directive opened the next record
	for {
		off := dec.InputOffset()
		tok, err := dec.RawToken()
		if err == io.EOF {
			if depth > 0 || pending {
				return emit(b[start:])
			}
			return nil
		}
		if err != nil {
			if depth == 0 && !pending {
				start = off
			}
			return emit(b[start:])
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 && !pending {
				start = off
			}
			pending = false
			depth++
		case xml.EndElement:
			depth--
			if depth < 0 {
				return emit(b[off:])
			}
			if depth == 0 {
				if e := emit(bytes.Clone(b[start:dec.InputOffset()])); e != nil {
					return e
				}
			}
		case xml.Directive:
			// A DOCTYPE belongs to the element after it: one record,
			// which the format refuses.
			if depth == 0 && !pending {
				start, pending = off, true
			}
		case xml.CharData:
			if depth == 0 && !pending && len(bytes.TrimSpace(tok.(xml.CharData))) > 0 {
				// Text outside any element: a record of its own, which
				// the format refuses.
				if e := emit(bytes.Clone(b[off:dec.InputOffset()])); e != nil {
					return e
				}
			}
		}
	}
}

// splitLengthPrefixed reads records framed by a 4-byte big-endian length.
// A record longer than limit is read as its first limit+1 bytes (refused
// as too large) and the rest skipped; a truncated last record is emitted as
// it is (and refused as malformed).
func splitLengthPrefixed(r io.Reader, limit int, emit func([]byte) error) error {
	br := bufio.NewReader(r)
	var hdr [4]byte
	for {
		n, err := io.ReadFull(br, hdr[:])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return emit(bytes.Clone(hdr[:n]))
		}
		size := int64(binary.BigEndian.Uint32(hdr[:]))
		keep := min(size, int64(limit)+1)
		buf := make([]byte, keep)
		m, err := io.ReadFull(br, buf)
		if err != nil {
			return emit(buf[:m])
		}
		if _, err := io.CopyN(io.Discard, br, size-keep); err != nil {
			return emit(buf)
		}
		if e := emit(buf); e != nil {
			return e
		}
	}
}

// AdaptCounts says what Adapt did.
type AdaptCounts struct {
	Records, Events, DeadLetters int64
}

// deadLetterLine is a dead letter as Adapt prints it.
type deadLetterLine struct {
	Record       int64  `json:"record"`
	Source       string `json:"source"`
	Stage        string `json:"stage"`
	ErrorClass   string `json:"error_class"`
	ErrorMessage string `json:"error_message"`
	Original     []byte `json:"original"` // base64
}

// Adapt runs Stream and prints canonical events as JSON lines on out and
// dead letters as JSON lines on dead (record number, stage, error class
// and message, and the original bytes in base64): every record read lands
// in exactly one of the two.
func (s *Source) Adapt(r io.Reader, out, dead io.Writer, opts StreamOptions) (AdaptCounts, error) {
	var c AdaptCounts
	ow, dw := bufio.NewWriter(out), bufio.NewWriter(dead)
	oe, de := json.NewEncoder(ow), json.NewEncoder(dw)
	oe.SetEscapeHTML(false)
	de.SetEscapeHTML(false)
	err := s.Stream(r, opts, func(rec StreamRecord) error {
		c.Records++
		if rec.Err != nil {
			c.DeadLetters++
			return de.Encode(deadLetterLine{Record: rec.Index, Source: s.Name, Stage: rec.Stage, ErrorClass: ClassOf(rec.Err),
				ErrorMessage: rec.Err.Error(), Original: rec.Value})
		}
		for _, ev := range rec.Events {
			c.Events++
			if err := oe.Encode(ev); err != nil {
				return err
			}
		}
		return nil
	})
	if e := ow.Flush(); err == nil {
		err = e
	}
	if e := dw.Flush(); err == nil {
		err = e
	}
	return c, err
}
