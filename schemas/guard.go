package schemas

import (
	"fmt"
	"math"
)

// maxDataDepth bounds nesting in data; only a recursive writer schema from a
// registry could reach it, since Driftline's own schemas nest a few levels.
const maxDataDepth = 64

// guard walks an Avro body against the writer schema without building
// anything, before goavro decodes it. goavro trusts the block counts of
// arrays and maps: it preallocates for up to MaxBlockCount (2^31-1) items, so
// six hostile bytes can ask for 32 GiB. goavro's limits are package globals
// shared with every other goavro user in the process, so instead the guard
// checks each count against the bytes left and the Limits, refuses overlong
// varints, bad union and enum indexes, and trailing bytes, and leaves goavro
// only well-formed input.
type guard struct {
	event    string // for errors
	b        []byte
	off      int
	items    int64 // array and map entries so far
	maxItems int64
	depth    int
}

func (g *guard) errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", sentinel, g.event, fmt.Sprintf(format, args...))
}

func (g *guard) truncated() error {
	return g.errorf(ErrMalformed, "truncated at byte %d of the body", g.off)
}

// varint reads a zig-zag varint of at most maxBytes bytes (5 for int, 10 for
// long), as the Avro specification bounds them.
func (g *guard) varint(maxBytes int) (int64, error) {
	var u uint64
	for i := 0; i < maxBytes; i++ {
		if g.off >= len(g.b) {
			return 0, g.truncated()
		}
		c := g.b[g.off]
		g.off++
		if i == 9 && c > 1 { // the tenth byte holds only bit 63
			return 0, g.errorf(ErrMalformed, "long overflows 64 bits at byte %d", g.off-1)
		}
		u |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if maxBytes == 5 && u > math.MaxUint32 {
				return 0, g.errorf(ErrMalformed, "int overflows 32 bits at byte %d", g.off-1)
			}
			return int64(u>>1) ^ -int64(u&1), nil
		}
	}
	return 0, g.errorf(ErrMalformed, "varint longer than %d bytes at byte %d", maxBytes, g.off)
}

func (g *guard) skip(n int64) error {
	if n < 0 || n > int64(len(g.b)-g.off) {
		return g.truncated()
	}
	g.off += int(n)
	return nil
}

func (g *guard) walk(n *node) error {
	switch n.kind {
	case kindNull:
		return nil
	case kindBoolean:
		if g.off >= len(g.b) {
			return g.truncated()
		}
		if g.b[g.off] > 1 {
			return g.errorf(ErrMalformed, "boolean byte %#x at byte %d", g.b[g.off], g.off)
		}
		g.off++
		return nil
	case kindInt:
		_, err := g.varint(5)
		return err
	case kindLong:
		_, err := g.varint(10)
		return err
	case kindFloat:
		return g.skip(4)
	case kindDouble:
		return g.skip(8)
	case kindFixed:
		return g.skip(int64(n.size))
	case kindBytes, kindString:
		l, err := g.varint(10)
		if err != nil {
			return err
		}
		if l < 0 {
			return g.errorf(ErrMalformed, "negative length %d at byte %d", l, g.off)
		}
		return g.skip(l)
	case kindEnum:
		i, err := g.varint(10)
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(n.size) {
			return g.errorf(ErrMalformed, "enum index %d out of range at byte %d", i, g.off)
		}
		return nil
	}

	g.depth++
	defer func() { g.depth-- }()
	if g.depth > maxDataDepth {
		return g.errorf(ErrTooLarge, "data nested deeper than %d", maxDataDepth)
	}
	switch n.kind {
	case kindUnion:
		i, err := g.varint(10)
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(n.branches)) {
			return g.errorf(ErrMalformed, "union index %d out of range at byte %d", i, g.off)
		}
		return g.walk(n.branches[i])
	case kindRecord:
		for _, f := range n.fields {
			if err := g.walk(f.typ); err != nil {
				return err
			}
		}
		return nil
	case kindArray, kindMap:
		per, what := int64(n.items.minSize), "array items"
		if n.kind == kindMap {
			per, what = per+1, "map entries" // +1: the key's length
		}
		for {
			count, err := g.varint(10)
			if err != nil {
				return err
			}
			if count == 0 {
				return nil
			}
			if count < 0 {
				// A negative count is followed by the block's size in bytes.
				if count == math.MinInt64 {
					return g.errorf(ErrMalformed, "block count out of range at byte %d", g.off)
				}
				count = -count
				size, err := g.varint(10)
				if err != nil {
					return err
				}
				if size < 0 {
					return g.errorf(ErrMalformed, "negative block size at byte %d", g.off)
				}
			}
			if per > 0 && count > int64(len(g.b)-g.off)/per {
				return g.errorf(ErrMalformed, "block of %d %s cannot fit in the %d bytes left at byte %d", count, what, len(g.b)-g.off, g.off)
			}
			if g.items += count; g.items > g.maxItems {
				return g.errorf(ErrTooLarge, "more than %d array and map entries", g.maxItems)
			}
			for ; count > 0; count-- {
				if n.kind == kindMap {
					if err := g.walk(stringNode); err != nil {
						return err
					}
				}
				if err := g.walk(n.items); err != nil {
					return err
				}
			}
		}
	}
	return g.errorf(ErrInvalidSchema, "unexpected schema kind %s", n.kind)
}

var stringNode = &node{kind: kindString, key: "string", minSize: 1}
