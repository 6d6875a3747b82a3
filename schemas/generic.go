package schemas

import (
	"fmt"

	"github.com/linkedin/goavro/v2"
)

// Generic decodes the Avro bodies of one writer schema that need not be a
// Driftline event: a producer's own records, which the adapter's Avro input
// format reads into documents. It shares the parser, the spec-correct
// fingerprint and the guard with the event decoder, so hostile bodies are
// refused before goavro allocates for them, and goavro panics are recovered.
// A Generic is safe for concurrent use.
type Generic struct {
	root   *node
	codec  *goavro.Codec
	fp     uint64
	unions map[*node]bool // types with a union somewhere below them
}

// NewGeneric compiles a self-contained writer schema. Errors wrap
// ErrInvalidSchema.
func NewGeneric(schemaJSON string) (*Generic, error) {
	codec, err := newCodec(schemaJSON)
	if err != nil {
		return nil, err
	}
	root, err := parseSchema(schemaJSON)
	if err != nil {
		return nil, err
	}
	g := &Generic{root: root, codec: codec, fp: fingerprintOf(root), unions: map[*node]bool{}}
	g.hasUnion(root, map[*node]bool{})
	return g, nil
}

// Fingerprint is the CRC-64-AVRO fingerprint of the schema's Parsing
// Canonical Form, as single-object encoding carries it.
func (g *Generic) Fingerprint() uint64 { return g.fp }

// Name is the full name of the schema's top-level type, or its type for an
// unnamed one.
func (g *Generic) Name() string {
	if g.root.name != "" {
		return g.root.name
	}
	return g.root.key
}

// Decode decodes one Avro binary body (no framing) into goavro's native
// form with the unions resolved: a union value is its branch's value (nil
// for null) rather than goavro's one-entry map keyed by the branch's type
// name, which a reader without the schema cannot tell from a record or a
// map. Records and maps are map[string]any, arrays []any, enums string,
// fixed and bytes []byte, and the logical types goavro knows keep goavro's
// types (time.Time for timestamps and dates, time.Duration for times of day,
// *big.Rat for decimals). Errors wrap ErrMalformed or ErrTooLarge; l.MaxBytes
// bounds the body, l.MaxItems the array and map entries, and data nests at
// most 64 levels.
func (g *Generic) Decode(body []byte, l Limits) (any, error) {
	l = l.withDefaults()
	name := g.Name()
	if len(body) > l.MaxBytes {
		return nil, fmt.Errorf("%w: %s: body of %d bytes exceeds the limit of %d", ErrTooLarge, name, len(body), l.MaxBytes)
	}
	gd := guard{event: name, b: body, maxItems: int64(l.MaxItems)}
	if err := gd.walk(g.root); err != nil {
		return nil, err
	}
	if gd.off != len(body) {
		return nil, fmt.Errorf("%w: %s: %d trailing bytes", ErrMalformed, name, len(body)-gd.off)
	}
	native, err := nativeFromBinary(&writer{event: &eventType{short: name}, codec: g.codec}, body)
	if err != nil {
		return nil, err
	}
	v, err := g.plain(g.root, native)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, name, err)
	}
	return v, nil
}

// plain replaces goavro's union maps by their values, in place, skipping
// subtrees without unions.
func (g *Generic) plain(n *node, v any) (any, error) {
	if !g.unions[n] {
		return v, nil
	}
	switch n.kind {
	case kindUnion:
		b, inner, err := unwrap(n, v)
		if err != nil {
			return nil, err
		}
		return g.plain(b, inner)
	case kindRecord:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("goavro returned %T for record %s", v, n.name)
		}
		for _, f := range n.fields {
			if !g.unions[f.typ] {
				continue
			}
			x, err := g.plain(f.typ, m[f.name])
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", n.name, f.name, err)
			}
			m[f.name] = x
		}
	case kindMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("goavro returned %T for a map", v)
		}
		for k, e := range m {
			x, err := g.plain(n.items, e)
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
	case kindArray:
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("goavro returned %T for an array", v)
		}
		for i, e := range a {
			x, err := g.plain(n.items, e)
			if err != nil {
				return nil, err
			}
			a[i] = x
		}
	}
	return v, nil
}

// hasUnion fills g.unions. A type met again while it is being visited (a
// recursive record) counts as having a union, which only costs a walk.
func (g *Generic) hasUnion(n *node, visiting map[*node]bool) bool {
	if u, done := g.unions[n]; done {
		return u
	}
	if visiting[n] {
		return true
	}
	visiting[n] = true
	defer delete(visiting, n)
	u := n.kind == kindUnion
	switch n.kind {
	case kindUnion:
		for _, b := range n.branches {
			g.hasUnion(b, visiting)
		}
	case kindRecord:
		for _, f := range n.fields {
			u = g.hasUnion(f.typ, visiting) || u
		}
	case kindArray, kindMap:
		u = g.hasUnion(n.items, visiting)
	}
	g.unions[n] = u
	return u
}
