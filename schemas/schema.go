package schemas

import (
	"bytes"
	"embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/linkedin/goavro/v2"
)

// The schemas are embedded so that every binary carries the exact contract it
// was built against and can decode without a registry.
//
//go:embed avro/*.avsc avro/history
var avroFS embed.FS

// Namespace is the Avro namespace of every Driftline record.
const Namespace = "dev.driftline"

// eventFiles lists the seven events in a fixed order, which Names keeps.
var eventFiles = []struct{ short, file string }{
	{"InferenceEvent", "inference_event.avsc"},
	{"LabelEvent", "label_event.avsc"},
	{"ReferenceProfile", "reference_profile.avsc"},
	{"WindowPartial", "window_partial.avsc"},
	{"MetricWindow", "metric_window.avsc"},
	{"Trigger", "trigger.avsc"},
	{"DeadLetter", "dead_letter.avsc"},
}

// eventType is one of the seven events: the current schema, which Marshal
// writes and against which every writer schema is resolved when decoding.
type eventType struct {
	name   string // full name, e.g. dev.driftline.InferenceEvent
	short  string // e.g. InferenceEvent
	reader *node  // current schema, with defaults in native form
	cur    *writer
	header [soeHeaderLen]byte // single-object header of the current schema
}

// writer is a compiled writer schema: one version of one event.
type writer struct {
	event       *eventType
	fingerprint uint64
	schema      string
	codec       *goavro.Codec
	root        *node
}

var (
	events     []*eventType
	eventNames = map[string]*eventType{} // full and short names

	evInference, evLabel, evReference, evPartial, evMetric, evTrigger, evDeadLetter *eventType

	// builtin holds the embedded current and historic writer schemas by
	// fingerprint. It is filled in init and only read afterwards; every
	// Decoder looks here before its own registrations.
	builtin = map[uint64]*writer{}
)

// The embedded schemas are part of the program, not input: if they do not
// load, nothing can be encoded or decoded, and the tests fail first.
func init() {
	if err := loadSchemas(); err != nil {
		panic("schemas: loading embedded Avro schemas: " + err.Error())
	}
}

func loadSchemas() error {
	raw := map[string]any{}     // full name -> parsed file, for composition
	text := map[string][]byte{} // full name -> file text
	for _, ef := range eventFiles {
		b, err := avroFS.ReadFile("avro/" + ef.file)
		if err != nil {
			return err
		}
		v, err := decodeJSON(b)
		if err != nil {
			return fmt.Errorf("%s: %w", ef.file, err)
		}
		full := Namespace + "." + ef.short
		raw[full], text[full] = v, b
	}
	for _, ef := range eventFiles {
		full := Namespace + "." + ef.short
		// Deep-copy through JSON: composition edits the tree in place.
		v, _ := decodeJSON(text[full])
		schema := string(text[full])
		if composed, changed := compose(v, raw); changed {
			b, err := json.Marshal(composed)
			if err != nil {
				return fmt.Errorf("%s: %w", ef.file, err)
			}
			schema = string(b)
		}
		reader, err := parseSchema(schema)
		if err != nil {
			return fmt.Errorf("%s: %w", ef.file, err)
		}
		if reader.kind != kindRecord || reader.name != full {
			return fmt.Errorf("%s: root must be record %s", ef.file, full)
		}
		if err := nativeDefaults(reader, map[*node]bool{}); err != nil {
			return fmt.Errorf("%s: %w", ef.file, err)
		}
		et := &eventType{name: full, short: ef.short, reader: reader}
		events = append(events, et)
		eventNames[full], eventNames[ef.short] = et, et
		w, err := compile(schema)
		if err != nil {
			return fmt.Errorf("%s: %w", ef.file, err)
		}
		et.cur = w
		et.header = soeHeader(w.fingerprint)
		builtin[w.fingerprint] = w
	}
	evInference, evLabel, evReference = eventNames["InferenceEvent"], eventNames["LabelEvent"], eventNames["ReferenceProfile"]
	evPartial, evMetric, evTrigger, evDeadLetter = eventNames["WindowPartial"], eventNames["MetricWindow"], eventNames["Trigger"], eventNames["DeadLetter"]

	return fs.WalkDir(avroFS, "avro/history", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".avsc" {
			return err
		}
		b, err := avroFS.ReadFile(p)
		if err != nil {
			return err
		}
		w, err := compile(string(b))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		builtin[w.fingerprint] = w
		return nil
	})
}

// compile builds a writer from a self-contained schema and checks that it
// resolves against the current reader schema of the event it names, so that
// an incompatible writer is refused once, at registration, rather than on
// every record.
func compile(schema string) (*writer, error) {
	codec, err := newCodec(schema)
	if err != nil {
		return nil, err
	}
	root, err := parseSchema(schema)
	if err != nil {
		return nil, err
	}
	if root.kind != kindRecord {
		return nil, fmt.Errorf("%w: top-level type is %s, not a record", ErrIncompatible, root.kind)
	}
	et := eventNames[root.name]
	if et == nil || et.name != root.name {
		return nil, fmt.Errorf("%w: record %q is not a Driftline event", ErrIncompatible, root.name)
	}
	if et.reader != nil {
		if err := compatible(root, et.reader, root.name, map[[2]*node]bool{}); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrIncompatible, err)
		}
	}
	return &writer{event: et, fingerprint: fingerprintOf(root), schema: schema, codec: codec, root: root}, nil
}

// newCodec wraps goavro.NewCodec: goavro type-asserts some schema attributes
// without checking, and a schema from a registry is input.
func newCodec(schema string) (c *goavro.Codec, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%w: goavro: %v", ErrInvalidSchema, r)
		}
	}()
	c, err = goavro.NewCodec(schema)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}
	return c, nil
}

// Schema returns the current self-contained Avro schema of an event, by short
// ("InferenceEvent") or full ("dev.driftline.InferenceEvent") name, as it is
// to be registered with a schema registry.
func Schema(name string) (string, error) {
	et := eventNames[name]
	if et == nil {
		return "", fmt.Errorf("%w: no event named %q", ErrUnsupportedType, name)
	}
	return et.cur.schema, nil
}

// Names returns the full names of the seven events.
func Names() []string {
	names := make([]string, len(events))
	for i, et := range events {
		names[i] = et.name
	}
	return names
}

// NameOf returns the full Avro name of an event value or pointer, e.g. for a
// registry subject under the record-name strategy.
func NameOf(v any) (string, error) {
	et := eventOf(v)
	if et == nil {
		return "", fmt.Errorf("%w: %T", ErrUnsupportedType, v)
	}
	return et.name, nil
}

// Fingerprint returns the CRC-64-AVRO (Rabin) fingerprint of a schema's
// Parsing Canonical Form: the value single-object encoding carries, and the
// one Java's SchemaNormalization.parsingFingerprint64 returns. (goavro's
// Codec.Rabin differs for schemas with logical types; see fingerprint.go.)
func Fingerprint(schemaJSON string) (uint64, error) {
	if _, err := newCodec(schemaJSON); err != nil {
		return 0, err
	}
	root, err := parseSchema(schemaJSON)
	if err != nil {
		return 0, err
	}
	return fingerprintOf(root), nil
}

const soeHeaderLen = 10

func soeHeader(fp uint64) [soeHeaderLen]byte {
	var h [soeHeaderLen]byte
	h[0], h[1] = 0xC3, 0x01
	binary.LittleEndian.PutUint64(h[2:], fp)
	return h
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // long defaults beyond 2^53 must survive
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}
	if d.More() {
		return nil, fmt.Errorf("%w: trailing data after the schema", ErrInvalidSchema)
	}
	return v, nil
}

// compose inlines references to the other event files' root records (Trigger
// refers to dev.driftline.MetricWindow), so each schema has one source of
// truth in avro/ yet goavro and registries get a self-contained schema. The
// first reference is replaced by the definition; later ones stay names, as
// Avro requires.
func compose(root any, defs map[string]any) (any, bool) {
	c := composer{defs: defs, defined: map[string]bool{}}
	out := c.walk(root, "")
	return out, c.changed
}

type composer struct {
	defs    map[string]any
	defined map[string]bool
	changed bool
}

func (c *composer) walk(s any, ns string) any {
	switch s := s.(type) {
	case string:
		if isPrimitive(s) {
			return s
		}
		full := fullName(s, ns)
		if c.defined[full] || c.defined[s] {
			return s
		}
		def, ok := c.defs[full]
		if !ok {
			return s
		}
		c.changed = true
		b, _ := json.Marshal(def) // a fresh copy: defs stay pristine
		cp, _ := decodeJSON(b)
		return c.walk(cp, ns)
	case []any:
		for i := range s {
			s[i] = c.walk(s[i], ns)
		}
		return s
	case map[string]any:
		switch t := s["type"].(type) {
		case string:
			switch t {
			case "record", "error", "enum", "fixed":
				full, tns := namedIn(s, ns)
				c.defined[full] = true
				if fields, ok := s["fields"].([]any); ok {
					for _, f := range fields {
						if fm, ok := f.(map[string]any); ok {
							fm["type"] = c.walk(fm["type"], tns)
						}
					}
				}
			case "array":
				s["items"] = c.walk(s["items"], ns)
			case "map":
				s["values"] = c.walk(s["values"], ns)
			default:
				s["type"] = c.walk(t, ns)
			}
		case map[string]any, []any:
			s["type"] = c.walk(t, ns)
		}
		return s
	}
	return s
}

// kind is an Avro type.
type kind uint8

const (
	kindNull kind = iota
	kindBoolean
	kindInt
	kindLong
	kindFloat
	kindDouble
	kindBytes
	kindString
	kindRecord
	kindEnum
	kindArray
	kindMap
	kindUnion
	kindFixed
)

var kindNames = [...]string{"null", "boolean", "int", "long", "float", "double", "bytes", "string", "record", "enum", "array", "map", "union", "fixed"}

func (k kind) String() string { return kindNames[k] }

var primitives = map[string]kind{
	"null": kindNull, "boolean": kindBoolean, "int": kindInt, "long": kindLong,
	"float": kindFloat, "double": kindDouble, "bytes": kindBytes, "string": kindString,
}

func isPrimitive(s string) bool { _, ok := primitives[s]; return ok }

// goavroLogical lists the logical types goavro converts to other Go types;
// goavro ignores any other logicalType, and so must the resolution here.
var goavroLogical = map[string]bool{
	"long.timestamp-millis": true, "long.timestamp-micros": true, "long.time-micros": true,
	"int.time-millis": true, "int.date": true, "bytes.decimal": true, "fixed.decimal": true,
	"string.validated-string": true,
}

// node is a parsed Avro schema: goavro keeps its own tree private, and the
// guard, the resolution and the compatibility check all need one.
type node struct {
	kind     kind
	name     string // full name of a record, enum or fixed
	logical  string // a logical type goavro converts, e.g. "timestamp-millis"
	key      string // the name goavro gives a value of this type inside a union
	fields   []*field
	index    map[string]int // field position by name
	items    *node          // array items, map values
	branches []*node        // union
	size     int            // fixed size, enum symbol count
	symbols  []string       // enum
	minSize  int            // fewest bytes an encoded value takes, -1 until computed
}

type field struct {
	name   string
	typ    *node
	hasDef bool
	def    any // JSON default, numbers as json.Number
	native any // the default in goavro's native form, set on reader schemas
}

func (n *node) field(name string) *field {
	if i, ok := n.index[name]; ok {
		return n.fields[i]
	}
	return nil
}

// maxSchemaDepth bounds nesting in schemas from a registry.
const maxSchemaDepth = 64

// parseSchema parses a self-contained schema into a node tree, resolving
// names the way goavro does.
func parseSchema(schema string) (*node, error) {
	v, err := decodeJSON([]byte(schema))
	if err != nil {
		return nil, err
	}
	p := parser{names: map[string]*node{}}
	n, err := p.parse(v, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}
	minSize(n)
	return n, nil
}

type parser struct {
	names map[string]*node
	depth int
}

func (p *parser) parse(s any, ns string) (*node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxSchemaDepth {
		return nil, fmt.Errorf("schema nested deeper than %d", maxSchemaDepth)
	}
	switch s := s.(type) {
	case string:
		return p.ref(s, ns)
	case []any:
		if len(s) == 0 {
			return nil, fmt.Errorf("empty union")
		}
		n := &node{kind: kindUnion, key: "union", minSize: -1}
		seen := map[string]bool{}
		for i, b := range s {
			bn, err := p.parse(b, ns)
			if err != nil {
				return nil, fmt.Errorf("union branch %d: %w", i, err)
			}
			if bn.kind == kindUnion {
				return nil, fmt.Errorf("union branch %d is a union", i)
			}
			if seen[bn.key] {
				return nil, fmt.Errorf("union branch %d repeats %s", i, bn.key)
			}
			seen[bn.key] = true
			n.branches = append(n.branches, bn)
		}
		return n, nil
	case map[string]any:
		switch t := s["type"].(type) {
		case string:
			switch t {
			case "record", "error":
				return p.record(s, ns)
			case "enum":
				full, _, err := p.define(s, ns)
				if err != nil {
					return nil, err
				}
				syms, ok := s["symbols"].([]any)
				if !ok || len(syms) == 0 {
					return nil, fmt.Errorf("enum %s: no symbols", full)
				}
				n := &node{kind: kindEnum, name: full, key: full, size: len(syms), minSize: -1}
				for _, sym := range syms {
					str, _ := sym.(string)
					n.symbols = append(n.symbols, str)
				}
				p.names[full] = n
				return n, nil
			case "fixed":
				full, _, err := p.define(s, ns)
				if err != nil {
					return nil, err
				}
				num, ok := s["size"].(json.Number)
				size, err := num.Int64()
				if !ok || err != nil || size < 0 || size > 1<<30 {
					return nil, fmt.Errorf("fixed %s: bad size %v", full, s["size"])
				}
				n := &node{kind: kindFixed, name: full, key: full, size: int(size), minSize: -1}
				if lt, _ := s["logicalType"].(string); goavroLogical["fixed."+lt] {
					n.logical = lt
				}
				p.names[full] = n
				return n, nil
			case "array", "map":
				attr := map[string]string{"array": "items", "map": "values"}[t]
				sub, ok := s[attr]
				if !ok {
					return nil, fmt.Errorf("%s without %s", t, attr)
				}
				items, err := p.parse(sub, ns)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", t, attr, err)
				}
				k := map[string]kind{"array": kindArray, "map": kindMap}[t]
				return &node{kind: k, key: t, items: items, minSize: -1}, nil
			}
			n, err := p.ref(t, ns)
			if err != nil {
				return nil, err
			}
			if lt, _ := s["logicalType"].(string); n.name == "" && goavroLogical[n.key+"."+lt] {
				n.logical = lt
				n.key += "." + lt
			}
			return n, nil
		case map[string]any, []any:
			return p.parse(t, ns)
		}
		return nil, fmt.Errorf("schema object without a valid type: %v", s["type"])
	}
	return nil, fmt.Errorf("unexpected JSON %T in a schema", s)
}

// ref resolves a type name. Primitives get a fresh node, so that a logical
// type on one use does not leak into another.
func (p *parser) ref(s string, ns string) (*node, error) {
	if k, ok := primitives[s]; ok {
		return &node{kind: k, key: s, minSize: -1}, nil
	}
	if n, ok := p.names[s]; ok {
		return n, nil
	}
	if n, ok := p.names[fullName(s, ns)]; ok {
		return n, nil
	}
	return nil, fmt.Errorf("unknown type %q", s)
}

func (p *parser) define(s map[string]any, ns string) (full, tns string, err error) {
	if name, _ := s["name"].(string); name == "" {
		return "", "", fmt.Errorf("named type without a name")
	}
	full, tns = namedIn(s, ns)
	if _, dup := p.names[full]; dup {
		return "", "", fmt.Errorf("type %s defined twice", full)
	}
	return full, tns, nil
}

func (p *parser) record(s map[string]any, ns string) (*node, error) {
	full, tns, err := p.define(s, ns)
	if err != nil {
		return nil, err
	}
	n := &node{kind: kindRecord, name: full, key: full, index: map[string]int{}, minSize: -1}
	p.names[full] = n // before the fields: records may refer to themselves
	fields, ok := s["fields"].([]any)
	if !ok {
		return nil, fmt.Errorf("record %s: no fields", full)
	}
	for i, f := range fields {
		fm, ok := f.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("record %s: field %d is not an object", full, i)
		}
		name, _ := fm["name"].(string)
		if name == "" {
			return nil, fmt.Errorf("record %s: field %d has no name", full, i)
		}
		if _, dup := n.index[name]; dup {
			return nil, fmt.Errorf("record %s: field %s defined twice", full, name)
		}
		typ, err := p.parse(fm["type"], tns)
		if err != nil {
			return nil, fmt.Errorf("record %s field %s: %w", full, name, err)
		}
		def, hasDef := fm["default"]
		n.index[name] = len(n.fields)
		n.fields = append(n.fields, &field{name: name, typ: typ, def: def, hasDef: hasDef})
	}
	return n, nil
}

// namedIn returns a named type's full name and the namespace its nested
// definitions inherit, per the Avro specification.
func namedIn(s map[string]any, enclosing string) (full, ns string) {
	name, _ := s["name"].(string)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name, name[:i]
	}
	ns = enclosing
	if v, ok := s["namespace"].(string); ok {
		ns = v
	}
	return fullName(name, ns), ns
}

func fullName(name, ns string) string {
	if ns == "" || strings.Contains(name, ".") {
		return name
	}
	return ns + "." + name
}

// minSize computes the fewest bytes a value of each type takes. The guard
// uses it to refuse an array or map whose item count cannot fit in the bytes
// left, before goavro preallocates for that count. A recursive reference
// counts as 0, which only weakens the bound.
func minSize(n *node) int {
	if n.minSize >= 0 {
		return n.minSize
	}
	n.minSize = 0 // provisional, for recursion
	var m int
	switch n.kind {
	case kindNull:
	case kindBoolean, kindInt, kindLong, kindBytes, kindString, kindEnum, kindArray, kindMap:
		m = 1
		if n.items != nil {
			minSize(n.items)
		}
	case kindFloat:
		m = 4
	case kindDouble:
		m = 8
	case kindFixed:
		m = n.size
	case kindRecord:
		for _, f := range n.fields {
			m = min(m+minSize(f.typ), 1<<30)
		}
	case kindUnion:
		m = 1 << 30
		for _, b := range n.branches {
			m = min(m, minSize(b))
		}
		m++
	}
	n.minSize = m
	return m
}

// nativeDefaults converts a reader schema's field defaults to the native form
// goavro would have decoded, so a missing writer field resolves through the
// same code path as a present one.
func nativeDefaults(n *node, seen map[*node]bool) error {
	if seen[n] {
		return nil
	}
	seen[n] = true
	switch n.kind {
	case kindRecord:
		for _, f := range n.fields {
			if f.hasDef {
				v, err := defaultNative(f.typ, f.def)
				if err != nil {
					return fmt.Errorf("%s.%s default: %w", n.name, f.name, err)
				}
				f.native = v
			}
			if err := nativeDefaults(f.typ, seen); err != nil {
				return err
			}
		}
	case kindArray, kindMap:
		return nativeDefaults(n.items, seen)
	case kindUnion:
		for _, b := range n.branches {
			if err := nativeDefaults(b, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

func defaultNative(n *node, j any) (any, error) {
	bad := fmt.Errorf("default %v does not match type %s", j, n.kind)
	switch n.kind {
	case kindNull:
		if j != nil {
			return nil, bad
		}
		return nil, nil
	case kindBoolean:
		if b, ok := j.(bool); ok {
			return b, nil
		}
	case kindInt, kindLong:
		if num, ok := j.(json.Number); ok {
			if i, err := num.Int64(); err == nil {
				if n.kind == kindLong {
					return i, nil
				}
				if int64(int32(i)) == i {
					return int32(i), nil
				}
			}
		}
	case kindFloat, kindDouble:
		if num, ok := j.(json.Number); ok {
			if f, err := num.Float64(); err == nil {
				if n.kind == kindFloat {
					return float32(f), nil
				}
				return f, nil
			}
		}
	case kindString, kindEnum:
		if s, ok := j.(string); ok {
			return s, nil
		}
	case kindBytes, kindFixed:
		// JSON defaults of bytes are strings of code points 0-255.
		if s, ok := j.(string); ok {
			b := make([]byte, 0, len(s))
			for _, r := range s {
				if r > 255 {
					return nil, bad
				}
				b = append(b, byte(r))
			}
			return b, nil
		}
	case kindArray:
		if a, ok := j.([]any); ok {
			out := make([]any, len(a))
			for i, x := range a {
				v, err := defaultNative(n.items, x)
				if err != nil {
					return nil, err
				}
				out[i] = v
			}
			return out, nil
		}
	case kindMap:
		if m, ok := j.(map[string]any); ok {
			out := make(map[string]any, len(m))
			for k, x := range m {
				v, err := defaultNative(n.items, x)
				if err != nil {
					return nil, err
				}
				out[k] = v
			}
			return out, nil
		}
	case kindRecord:
		if m, ok := j.(map[string]any); ok {
			out := make(map[string]any, len(n.fields))
			for _, f := range n.fields {
				x, ok := m[f.name]
				if !ok && !f.hasDef {
					return nil, fmt.Errorf("default for %s lacks field %s", n.name, f.name)
				} else if !ok {
					x = f.def
				}
				v, err := defaultNative(f.typ, x)
				if err != nil {
					return nil, err
				}
				out[f.name] = v
			}
			return out, nil
		}
	case kindUnion:
		// A union's default belongs to its first branch.
		v, err := defaultNative(n.branches[0], j)
		if err != nil || n.branches[0].kind == kindNull {
			return nil, err
		}
		return map[string]any{n.branches[0].key: v}, nil
	}
	return nil, bad
}
