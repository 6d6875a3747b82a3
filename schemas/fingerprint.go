package schemas

import "strconv"

// goavro's canonical form keeps {"type":"long"} where a logical type was
// (linkedin/goavro#174, open since 2019), so its fingerprints differ from
// Java's, Python's and Rust's for every schema here, all of which carry
// timestamp-millis. Single-object encoding is only useful if other languages
// can find the writer schema by fingerprint, so the canonical form and the
// fingerprint are computed here, from the Avro specification.

// canonicalForm appends the Parsing Canonical Form of a schema: full names,
// only the attributes that matter for parsing (name, type, fields, symbols,
// items, values, size, in that order), primitives in their simple form, and
// each named type defined once. Names are written unescaped, as Java's
// SchemaNormalization does.
func canonicalForm(b []byte, n *node, defined map[*node]bool) []byte {
	switch n.kind {
	case kindRecord, kindEnum, kindFixed:
		if defined[n] {
			return append(append(append(b, '"'), n.name...), '"')
		}
		defined[n] = true
		b = append(append(append(b, `{"name":"`...), n.name...), `","type":"`...)
		switch n.kind {
		case kindRecord:
			b = append(b, `record","fields":[`...)
			for i, f := range n.fields {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(append(append(b, `{"name":"`...), f.name...), `","type":`...)
				b = append(canonicalForm(b, f.typ, defined), '}')
			}
			return append(b, "]}"...)
		case kindEnum:
			b = append(b, `enum","symbols":[`...)
			for i, s := range n.symbols {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(append(append(b, '"'), s...), '"')
			}
			return append(b, "]}"...)
		default:
			b = append(b, `fixed","size":`...)
			return append(strconv.AppendInt(b, int64(n.size), 10), '}')
		}
	case kindArray:
		b = append(b, `{"type":"array","items":`...)
		return append(canonicalForm(b, n.items, defined), '}')
	case kindMap:
		b = append(b, `{"type":"map","values":`...)
		return append(canonicalForm(b, n.items, defined), '}')
	case kindUnion:
		b = append(b, '[')
		for i, br := range n.branches {
			if i > 0 {
				b = append(b, ',')
			}
			b = canonicalForm(b, br, defined)
		}
		return append(b, ']')
	}
	return append(append(append(b, '"'), n.kind.String()...), '"')
}

// rabinEmpty is CRC-64-AVRO's initial value, and its polynomial.
const rabinEmpty = 0xc15d213aa4d7a795

var rabinTable = func() (t [256]uint64) {
	for i := range t {
		fp := uint64(i)
		for range 8 {
			fp = (fp >> 1) ^ (rabinEmpty & -(fp & 1))
		}
		t[i] = fp
	}
	return t
}()

// rabin is the CRC-64-AVRO fingerprint of b.
func rabin(b []byte) uint64 {
	fp := uint64(rabinEmpty)
	for _, c := range b {
		fp = (fp >> 8) ^ rabinTable[byte(fp)^c]
	}
	return fp
}

func fingerprintOf(root *node) uint64 {
	return rabin(canonicalForm(nil, root, map[*node]bool{}))
}
