package schemas

import (
	"fmt"
	"slices"
	"strings"
)

// compatible reports whether data written with schema w can be read as
// schema r under Avro's resolution rules, in the strict form Avro's own
// SchemaCompatibility uses: every branch of a writer union must resolve, so a
// nullable writer field never meets a non-nullable reader at run time.
func compatible(w, r *node, at string, seen map[[2]*node]bool) error {
	if w.kind == kindUnion {
		for _, b := range w.branches {
			if err := compatible(b, r, at, seen); err != nil {
				return err
			}
		}
		return nil
	}
	if r.kind == kindUnion {
		for _, b := range r.branches {
			if compatible(w, b, at, seen) == nil {
				return nil
			}
		}
		return fmt.Errorf("%s: writer type %s matches no branch of the reader's union", at, w.key)
	}
	mismatch := fmt.Errorf("%s: writer type %s cannot be read as %s", at, w.key, r.key)
	switch r.kind {
	case kindRecord:
		if w.kind != kindRecord || shortName(w.name) != shortName(r.name) {
			return mismatch
		}
		pair := [2]*node{w, r}
		if seen[pair] {
			return nil // recursive type: already being checked
		}
		seen[pair] = true
		for _, rf := range r.fields {
			wf := w.field(rf.name)
			if wf == nil {
				if !rf.hasDef {
					return fmt.Errorf("%s.%s: the writer lacks the field and the reader has no default", at, rf.name)
				}
				continue
			}
			if err := compatible(wf.typ, rf.typ, at+"."+rf.name, seen); err != nil {
				return err
			}
		}
		return nil
	case kindArray, kindMap:
		if w.kind != r.kind {
			return mismatch
		}
		return compatible(w.items, r.items, at+"[]", seen)
	case kindEnum:
		if w.kind != kindEnum || shortName(w.name) != shortName(r.name) {
			return mismatch
		}
		for _, s := range w.symbols {
			if !slices.Contains(r.symbols, s) {
				return fmt.Errorf("%s: writer enum symbol %q unknown to the reader", at, s)
			}
		}
		return nil
	case kindFixed:
		if w.kind != kindFixed || shortName(w.name) != shortName(r.name) || w.size != r.size {
			return mismatch
		}
		return nil
	}
	if !promotes(w.kind, r.kind) {
		return mismatch
	}
	// A logical type changes the meaning, not the encoding: timestamp-micros
	// read as timestamp-millis would be off by a factor of 1000.
	if w.logical != "" && w.logical != r.logical {
		return mismatch
	}
	return nil
}

// promotes reports whether Avro lets a writer's primitive be read as the
// reader's.
func promotes(w, r kind) bool {
	if w == r {
		return true
	}
	switch w {
	case kindInt:
		return r == kindLong || r == kindFloat || r == kindDouble
	case kindLong:
		return r == kindFloat || r == kindDouble
	case kindFloat:
		return r == kindDouble
	case kindString:
		return r == kindBytes
	case kindBytes:
		return r == kindString
	}
	return false
}

func shortName(full string) string {
	return full[strings.LastIndexByte(full, '.')+1:]
}
