package normalize

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// XMLConfig configures XML records.
//
// An element becomes a Document: its attributes as "@name", its child
// elements by local name (an element that repeats becomes a list), and its
// text, if it also has attributes or children, as "#text". An element with
// only text is that text (whitespace around it trimmed; empty is null).
// Namespace prefixes are dropped, so a SOAP envelope reads as
// Envelope.Body.... A DOCTYPE is refused: encoding/xml expands no entities
// but the five predefined ones and character references, and refusing DTDs
// outright leaves no room for entity tricks.
type XMLConfig struct {
	// Record is the slash-separated path of element names from the root
	// to the elements that are documents (Envelope/Body/Predictions/
	// Inference); each match is one document. Default: the root element.
	Record string `yaml:"record"`
}

type xmlFormat struct {
	record []string // element names from the root; nil: the root
	limits Limits
}

func newXMLFormat(c XMLConfig, l Limits) (*xmlFormat, error) {
	f := &xmlFormat{limits: l}
	if c.Record != "" {
		f.record = strings.Split(strings.Trim(c.Record, "/"), "/")
		if slices.Contains(f.record, "") {
			return nil, fmt.Errorf("record %q has an empty step", c.Record)
		}
	}
	return f, nil
}

func newXMLDecoder(b []byte) *xml.Decoder {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	// Only UTF-8 (and its ASCII subset): a charset reader would be one
	// more parser for hostile bytes to reach.
	d.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return input, nil
		}
		return nil, fmt.Errorf("encoding %q is not supported, only UTF-8", label)
	}
	return d
}

func (f *xmlFormat) Documents(value []byte) ([]Document, error) {
	dec := newXMLDecoder(value)
	var docs []Document
	var stack []string
	roots := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fail(ClassMalformed, "xml: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fail(ClassMalformed, "xml: DOCTYPE and other directives are not accepted")
		case xml.StartElement:
			if len(stack) == 0 {
				roots++
				if roots > 1 {
					return nil, fail(ClassMalformed, "xml: more than one root element")
				}
			}
			stack = append(stack, t.Name.Local)
			if len(stack) > f.limits.depth() {
				return nil, fail(ClassTooLarge, "xml nested deeper than %d elements", f.limits.depth())
			}
			match := f.record == nil || slices.Equal(stack, f.record)
			if match {
				v, err := f.element(dec, t, len(stack))
				if err != nil {
					return nil, err
				}
				d, ok := v.(Document)
				if !ok {
					d = Document{"#text": v}
				}
				if len(docs) >= f.limits.documents() {
					return nil, fail(ClassTooLarge, "more than %d documents in one record", f.limits.documents())
				}
				docs = append(docs, d)
				stack = stack[:len(stack)-1]
				continue
			}
			if len(stack) >= len(f.record) || !slices.Equal(stack, f.record[:len(stack)]) {
				if err := dec.Skip(); err != nil {
					return nil, fail(ClassMalformed, "xml: %v", err)
				}
				stack = stack[:len(stack)-1]
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return nil, fail(ClassMalformed, "xml: text outside the root element")
			}
		}
	}
	if roots == 0 {
		return nil, fail(ClassMalformed, "xml: no root element")
	}
	if len(docs) == 0 {
		return nil, fail(ClassMalformed, "xml: no %s element", strings.Join(f.record, "/"))
	}
	return docs, nil
}

// element reads the element start opened, at depth, into its value.
func (f *xmlFormat) element(dec *xml.Decoder, start xml.StartElement, depth int) (any, error) {
	var d Document
	if len(start.Attr) > 0 {
		d = make(Document, len(start.Attr)+4)
		for _, a := range start.Attr {
			if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
				continue // namespace declarations are not data
			}
			d["@"+a.Name.Local] = a.Value
		}
	}
	var text []byte
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fail(ClassMalformed, "xml: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fail(ClassMalformed, "xml: DOCTYPE and other directives are not accepted")
		case xml.CharData:
			text = append(text, t...)
		case xml.StartElement:
			if depth+1 > f.limits.depth() {
				return nil, fail(ClassTooLarge, "xml nested deeper than %d elements", f.limits.depth())
			}
			v, err := f.element(dec, t, depth+1)
			if err != nil {
				return nil, err
			}
			if d == nil {
				d = make(Document, 8)
			}
			name := t.Name.Local
			switch prev := d[name].(type) {
			case nil:
				if _, exists := d[name]; exists {
					d[name] = []any{nil, v}
				} else {
					d[name] = v
				}
			case []any:
				d[name] = append(prev, v)
			default:
				d[name] = []any{prev, v}
			}
		case xml.EndElement:
			s := strings.TrimSpace(string(text))
			if d == nil {
				if s == "" {
					return nil, nil
				}
				return s, nil
			}
			if s != "" {
				d["#text"] = s
			}
			return d, nil
		}
	}
}
