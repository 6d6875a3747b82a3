package normalize

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonFormat reads a record holding one JSON object, or one JSON array of
// objects (a batch from a legacy producer).
type jsonFormat struct{ limits Limits }

func (f jsonFormat) Documents(value []byte) ([]Document, error) {
	return jsonDocuments(value, false, f.limits)
}

// jsonLinesFormat reads a record holding JSON objects one per line (JSON
// Lines, NDJSON); blank lines are skipped. One bad line fails the record.
type jsonLinesFormat struct{ limits Limits }

func (f jsonLinesFormat) Documents(value []byte) ([]Document, error) {
	return jsonDocuments(value, true, f.limits)
}

func jsonDocuments(value []byte, lines bool, limits Limits) ([]Document, error) {
	var docs []Document
	p := jsonParser{b: value, maxDepth: limits.depth()}
	err := p.objects(lines, limits.documents(), func(depth int) error {
		d, err := p.object(depth)
		if err != nil {
			return err
		}
		docs = append(docs, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return docs, nil
}

// objects walks the record in p.b, a json record (one object, or an array
// of objects) or, with lines, a jsonl one, calling doc with the depth of
// each top-level object (1 inside an array) and p at it; doc reads the
// object and leaves p after it. Both JSON paths, the Documents and the
// plan, walk records with it, so they agree on the limits, on what counts
// as empty and on the words of their failures.
func (p *jsonParser) objects(lines bool, maxDocs int, doc func(depth int) error) error {
	n := 0
	another := func() error { // counts a document against the limit
		if n >= maxDocs {
			return fail(ClassTooLarge, "more than %d documents in one record", maxDocs)
		}
		n++
		return nil
	}
	if lines {
		line := 0
		for rest := p.b; len(rest) > 0; {
			line++
			if i := indexByte(rest, '\n'); i >= 0 {
				p.b, rest = rest[:i], rest[i+1:]
			} else {
				p.b, rest = rest, nil
			}
			p.i = 0
			p.skipSpace()
			if p.i == len(p.b) {
				continue
			}
			if err := another(); err != nil {
				return err
			}
			err := doc(0)
			if err == nil {
				err = p.end()
			}
			if err != nil {
				return fail(ClassOf(err), "line %d: %v", line, unwrapFailure(err))
			}
		}
		if n == 0 {
			return fail(ClassMalformed, "no JSON object in the record")
		}
		return nil
	}
	p.skipSpace()
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		if err := doc(0); err != nil {
			return err
		}
		return p.end()
	}
	p.i++
	p.skipSpace()
	if p.at(']') {
		p.i++
	} else {
		for {
			if err := another(); err != nil {
				return err
			}
			if err := doc(1); err != nil {
				return err
			}
			p.skipSpace()
			if p.at(',') {
				p.i++
				continue
			}
			if err := p.expect(']'); err != nil {
				return err
			}
			break
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	if n == 0 {
		return fail(ClassMalformed, "empty JSON array: no documents")
	}
	return nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func unwrapFailure(err error) error {
	if f, ok := err.(*Failure); ok {
		return f.Err
	}
	return err
}

// jsonParser builds Documents straight from the bytes: encoding/json's
// reflection into map[string]any costs about five times as much, and the
// adapter's budget is a few microseconds per record. Numbers stay
// json.Number (the mapping converts them); invalid UTF-8 in strings becomes
// U+FFFD as with encoding/json; a repeated key keeps its last value.
type jsonParser struct {
	b        []byte
	i        int
	maxDepth int
}

func (p *jsonParser) errorf(format string, args ...any) *Failure {
	return fail(ClassMalformed, "invalid JSON at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) expect(c byte) error {
	p.skipSpace()
	if p.i >= len(p.b) {
		return p.errorf("unexpected end, want %q", c)
	}
	if p.b[p.i] != c {
		return p.errorf("unexpected %q, want %q", p.b[p.i], c)
	}
	p.i++
	return nil
}

// end checks that only whitespace follows.
func (p *jsonParser) end() error {
	p.skipSpace()
	if p.i < len(p.b) {
		return fail(ClassMalformed, "trailing data after the JSON value at byte %d", p.i)
	}
	return nil
}

// object reads an object at the current position; depth counts the
// containers around it.
func (p *jsonParser) object(depth int) (Document, error) {
	p.skipSpace()
	if p.i >= len(p.b) {
		return nil, fail(ClassMalformed, "not a JSON object: empty input")
	}
	if p.b[p.i] != '{' {
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		return nil, fail(ClassMalformed, "not a JSON object: got %s", typeName(v))
	}
	return p.objectBody(depth)
}

func (p *jsonParser) objectBody(depth int) (Document, error) {
	if depth >= p.maxDepth {
		return nil, fail(ClassTooLarge, "JSON nested deeper than %d levels", p.maxDepth)
	}
	p.i++ // '{'
	d := make(Document, 8)
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return d, nil
	}
	for {
		p.skipSpace()
		if !p.atString() {
			return nil, p.errorf("want a string key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d[k] = v
		if p.at(',') { // the common case, without a call
			p.i++
			continue
		}
		if done, err := p.next('}', "an object"); err != nil {
			return nil, err
		} else if done {
			return d, nil
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	p.skipSpace()
	if p.i >= len(p.b) {
		return nil, p.errorf("unexpected end, want a value")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.objectBody(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	default:
		return nil, p.errorf("unexpected %q, want a value", c)
	}
}

func (p *jsonParser) literal(lit string) error {
	if len(p.b)-p.i < len(lit) || string(p.b[p.i:p.i+len(lit)]) != lit {
		return p.errorf("invalid literal, want %s", lit)
	}
	p.i += len(lit)
	return nil
}

func (p *jsonParser) array(depth int) ([]any, error) {
	empty, err := p.open(depth, ']')
	if err != nil {
		return nil, err
	}
	a := []any{}
	if empty {
		return a, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if p.at(',') { // the common case, without a call
			p.i++
			continue
		}
		if done, err := p.next(']', "an array"); err != nil {
			return nil, err
		} else if done {
			return a, nil
		}
	}
}

// open enters the container at p, an object or an array by its closing
// byte end, at depth; empty says it closed at once.
func (p *jsonParser) open(depth int, end byte) (empty bool, err error) {
	if depth >= p.maxDepth {
		return false, fail(ClassTooLarge, "JSON nested deeper than %d levels", p.maxDepth)
	}
	p.i++ // '{' or '['
	p.skipSpace()
	if p.at(end) {
		p.i++
		return true, nil
	}
	return false, nil
}

// next moves past the comma or the closing byte end after a member of a
// container (in names it for the errors); done says the container closed.
func (p *jsonParser) next(end byte, in string) (done bool, err error) {
	p.skipSpace()
	if p.i >= len(p.b) {
		return false, p.errorf("unexpected end in %s", in)
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		return false, nil
	case end:
		p.i++
		return true, nil
	}
	return false, p.errorf("unexpected %q in %s", p.b[p.i], in)
}

// at says whether the byte at p is c.
func (p *jsonParser) at(c byte) bool { return p.i < len(p.b) && p.b[p.i] == c }

// atString says whether a string starts at p.
func (p *jsonParser) atString() bool { return p.at('"') }

// atNumber says whether a number starts at p.
func (p *jsonParser) atNumber() bool {
	return p.i < len(p.b) && (p.b[p.i] == '-' || (p.b[p.i] >= '0' && p.b[p.i] <= '9'))
}

// number reads a number with JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) number() (json.Number, error) {
	b, err := p.numberBytes()
	return json.Number(b), err
}

// numberBytes is number without the conversion to a string.
func (p *jsonParser) numberBytes() ([]byte, error) {
	start := p.i
	if p.i >= len(p.b) {
		return nil, p.errorf("unexpected end, want a number")
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.at('0') {
		p.i++
	} else if digits() == 0 {
		return nil, p.errorf("invalid number")
	}
	if p.at('.') {
		p.i++
		if digits() == 0 {
			return nil, p.errorf("invalid number: no digits after the point")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.errorf("invalid number: no exponent digits")
		}
	}
	return p.b[start:p.i], nil
}

// str reads a string at p.b[p.i] == '"'.
func (p *jsonParser) str() (string, error) {
	p.i++
	start := p.i
	// Fast path: no escapes, all ASCII or valid UTF-8.
	ascii := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return string(toValidUTF8(s)), nil
			}
			return string(s), nil
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			return "", p.errorf("control character in a string")
		case c >= 0x80:
			ascii = false
		}
		p.i++
	}
	return "", p.errorf("unterminated string")
}

func (p *jsonParser) strSlow(start int) (string, error) {
	buf := make([]byte, 0, p.i-start+16)
	buf = append(buf, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(toValidUTF8(buf)), nil
		case c < 0x20:
			return "", p.errorf("control character in a string")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if x, ok := p.hex4(); ok {
						if d := utf16.DecodeRune(r, x); d != utf8.RuneError {
							r2 = d
						} else {
							p.i = save // not a pair: the second escape stands alone
						}
					} else {
						return "", p.errorf("invalid \\u escape")
					}
				}
				r = r2
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("invalid escape \\%c", e)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}

func toValidUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

// skipJSONValue returns the length of the JSON value at the start of b
// (after leading whitespace), for splitting a stream of values; an error
// when b does not start with a complete value.
func skipJSONValue(b []byte, maxDepth int) (int, error) {
	p := jsonParser{b: b, maxDepth: maxDepth}
	if _, err := p.value(0); err != nil {
		return 0, err
	}
	return p.i, nil
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber converts a JSON number's bytes to a float64. Plain decimals
// of at most 15 digits take Clinger's fast path (an exact integer divided
// by an exact power of ten is correctly rounded), the rest strconv.
func parseNumber(b []byte) (float64, error) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		neg, i = true, 1
	}
	var m uint64
	digits, frac := 0, -1
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return strconv.ParseFloat(string(b), 64)
		}
	}
	if digits == 0 || digits > 15 {
		return strconv.ParseFloat(string(b), 64)
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, nil
}
