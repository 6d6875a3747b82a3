package schemas

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// The hot events, InferenceEvent and LabelEvent, are decoded here without
// goavro when the writer schema is the current one, which is what Driftline's
// own adapter writes. goavro's generic decoder builds a map[string]any per
// record and a one-entry map per union value, about 25 µs for an event with
// 20 features, which alone caps a core near 40,000 events/s. This path reads
// the body straight into the struct with the guard's own checks (varint
// lengths, counts against the bytes left, the item limit), so it accepts and
// refuses exactly what guard + goavro + resolution do, and yields the same
// values; the tests compare both paths on the golden and evolution inputs and
// the fuzz target on arbitrary bytes. Other writer schemas still go through
// goavro and resolution.

// Per-entry minimum sizes, as the guard computes them from the schema: the
// key's length byte plus the value's minimum.
const (
	minFeatureEntry = 2 // key length + union index
	minStringEntry  = 2 // key length + value length
	minDoubleEntry  = 9 // key length + 8 bytes
)

// Interning: the names and low-cardinality values of a stream (model ids,
// feature names, categories) repeat in every event; looking them up in a
// small table saves an allocation per string. The table is bounded and
// starts over when full, so hostile input costs speed at most, never memory.
const (
	maxInternLen     = 64
	maxInternEntries = 1 << 12
)

// fastDecoder reads one body. It embeds the guard so that every structural
// error carries the same sentinel and message as on the generic path.
type fastDecoder struct {
	guard
	intern map[string]string
	// keys are the last feature map's keys by position. Marshal writes
	// them sorted, so a stream of one model repeats them in order and a
	// byte comparison finds the string without hashing.
	keys []string
	// last holds the strings read at fixed places of the last event
	// (lastModel...) and the string feature values by position (vals):
	// they mostly repeat, and a comparison is cheaper than the intern
	// table's hashing.
	lastModel, lastVersion, lastVariant, lastSource, lastClass string
	vals                                                       []string
	// listing sends the features to list instead of a map
	// (UnmarshalFeatures).
	listing bool
	list    []Feature
	// dup is a duplicate map key. goavro reports it only after the guard has
	// walked the whole body, so it is held back until the body has been read
	// to the end: a later structural error, or trailing bytes, win as they do
	// on the generic path.
	dup error
}

var fastDecoders = sync.Pool{New: func() any {
	return &fastDecoder{intern: make(map[string]string, 256)}
}}

// decodeCurrent decodes body, written with the current schema of w.event,
// into v when v is one of the events this path knows. It reports whether it
// handled v.
func decodeCurrent(w *writer, body []byte, v any, limits Limits) (bool, error) {
	if w != w.event.cur {
		return false, nil
	}
	switch v := v.(type) {
	case *InferenceEvent:
		d := getFastDecoder(w, body, limits)
		defer fastDecoders.Put(d)
		*v = InferenceEvent{}
		return true, d.finish(d.inference(v))
	case *LabelEvent:
		d := getFastDecoder(w, body, limits)
		defer fastDecoders.Put(d)
		*v = LabelEvent{}
		return true, d.finish(d.label(v))
	}
	return false, nil
}

func getFastDecoder(w *writer, body []byte, limits Limits) *fastDecoder {
	d := fastDecoders.Get().(*fastDecoder)
	d.guard = guard{event: w.event.short, b: body, maxItems: int64(limits.MaxItems)}
	d.dup = nil
	return d
}

// finish applies the generic path's order of errors: structural errors as
// the guard meets them, then trailing bytes, then goavro's duplicate keys.
// The body is not kept: every string was copied out of it.
func (d *fastDecoder) finish(err error) error {
	trailing := len(d.b) - d.off
	d.b = nil
	switch {
	case err != nil:
		return err
	case trailing != 0:
		return fmt.Errorf("%w: %s: %d trailing bytes", ErrMalformed, d.event, trailing)
	}
	return d.dup
}

func (d *fastDecoder) inference(e *InferenceEvent) error {
	eventID, err := d.raw()
	if err != nil {
		return err
	}
	requestID, err := d.raw()
	if err != nil {
		return err
	}
	// One allocation for both ids, which are unique per event (a string
	// concatenation would take three).
	var sb strings.Builder
	sb.Grow(len(eventID) + len(requestID))
	sb.Write(eventID)
	sb.Write(requestID)
	ids := sb.String()
	e.EventID, e.RequestID = ids[:len(eventID)], ids[len(eventID):]
	if e.ModelID, err = d.repeated(&d.lastModel); err != nil {
		return err
	}
	if e.ModelVersion, err = d.repeated(&d.lastVersion); err != nil {
		return err
	}
	if e.Variant, err = d.repeated(&d.lastVariant); err != nil {
		return err
	}
	if e.EventTime, err = d.time(); err != nil {
		return err
	}
	if d.listing {
		err = d.featureList()
	} else {
		e.Features, err = d.features()
	}
	if err != nil {
		return err
	}
	if err = d.prediction(&e.Prediction); err != nil {
		return err
	}
	if e.Prediction.Probabilities, err = d.optMapDouble(); err != nil {
		return err
	}
	if e.LatencyMS, err = d.double(); err != nil {
		return err
	}
	branch, err := d.union(2)
	if err != nil {
		return err
	}
	if branch == 1 {
		c := new(Cost)
		if c.InputTokens, err = d.varint(10); err != nil {
			return err
		}
		if c.OutputTokens, err = d.varint(10); err != nil {
			return err
		}
		if c.CostUSD, err = d.double(); err != nil {
			return err
		}
		e.Cost = c
	}
	if e.Segments, err = d.mapString(); err != nil {
		return err
	}
	if e.Attributions, err = d.optMapDouble(); err != nil {
		return err
	}
	if e.Source, err = d.repeated(&d.lastSource); err != nil {
		return err
	}
	sv, err := d.varint(5)
	e.SchemaVersion = int32(sv)
	return err
}

// predictionValues holds what a decoded Prediction's pointers point to.
type predictionValues struct {
	score, value float64
	class        string
}

// prediction reads the score, class and value; what they point to is
// allocated once for the three.
func (d *fastDecoder) prediction(p *Prediction) error {
	var box *predictionValues
	for i := range 3 {
		b, err := d.union(2)
		if err != nil {
			return err
		}
		if b == 0 {
			continue
		}
		if box == nil {
			box = new(predictionValues)
		}
		switch i {
		case 0:
			if box.score, err = d.double(); err == nil {
				p.Score = &box.score
			}
		case 1:
			if box.class, err = d.repeated(&d.lastClass); err == nil {
				p.Class = &box.class
			}
		case 2:
			if box.value, err = d.double(); err == nil {
				p.Value = &box.value
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *fastDecoder) label(l *LabelEvent) error {
	var err error
	if l.RequestID, err = d.str(false); err != nil {
		return err
	}
	if l.Class, err = d.optString(); err != nil {
		return err
	}
	if l.Value, err = d.optDouble(); err != nil {
		return err
	}
	if l.LabelTime, err = d.time(); err != nil {
		return err
	}
	l.Source, err = d.str(true)
	return err
}

// raw reads a string's bytes as the guard walks one.
func (d *fastDecoder) raw() ([]byte, error) {
	// Names, ids and categories are mostly shorter than 64 bytes, so their
	// length is one byte: read it here rather than through the general
	// varint, the way it reads it (an even byte is a non-negative length).
	if off := d.off; off < len(d.b) {
		if c := d.b[off]; c < 0x80 && c&1 == 0 && int(c>>1) <= len(d.b)-off-1 {
			start := off + 1
			d.off = start + int(c>>1)
			return d.b[start:d.off], nil
		}
	}
	n, err := d.varint(10)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, d.errorf(ErrMalformed, "negative length %d at byte %d", n, d.off)
	}
	start := d.off
	if err := d.skip(n); err != nil {
		return nil, err
	}
	return d.b[start:d.off], nil
}

// str reads a string, interning short ones on request.
func (d *fastDecoder) str(intern bool) (string, error) {
	raw, err := d.raw()
	if err != nil {
		return "", err
	}
	if !intern {
		return string(raw), nil
	}
	return d.interned(raw), nil
}

// repeated reads an interned string that *last held the last time.
func (d *fastDecoder) repeated(last *string) (string, error) {
	raw, err := d.raw()
	if err != nil {
		return "", err
	}
	if *last == string(raw) { // no allocation for the comparison
		return *last, nil
	}
	s := d.interned(raw)
	if len(s) <= maxInternLen {
		*last = s // not a hostile long one: a pooled decoder keeps it
	}
	return s, nil
}

// value reads the string value of the i-th feature.
func (d *fastDecoder) value(i int) (string, error) {
	for i >= len(d.vals) && len(d.vals) < maxInternEntries {
		d.vals = append(d.vals, "")
	}
	if i >= len(d.vals) {
		return d.str(true)
	}
	return d.repeated(&d.vals[i])
}

// key reads the i-th key of the feature map.
func (d *fastDecoder) key(i int) (string, error) {
	raw, err := d.raw()
	if err != nil {
		return "", err
	}
	if i < len(d.keys) && d.keys[i] == string(raw) {
		return d.keys[i], nil
	}
	k := d.interned(raw)
	if len(k) > maxInternLen {
		// Not kept: a pooled decoder must not pin a hostile long key.
		return k, nil
	}
	if i < len(d.keys) {
		d.keys[i] = k
	} else if i == len(d.keys) && i < maxInternEntries {
		d.keys = append(d.keys, k)
	}
	return k, nil
}

func (d *fastDecoder) interned(raw []byte) string {
	if len(raw) > maxInternLen {
		return string(raw)
	}
	if s, ok := d.intern[string(raw)]; ok { // no allocation for the lookup
		return s
	}
	if len(d.intern) >= maxInternEntries {
		clear(d.intern)
	}
	s := string(raw)
	d.intern[s] = s
	return s
}

func (d *fastDecoder) double() (float64, error) {
	start := d.off
	if err := d.skip(8); err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(d.b[start:])), nil
}

func (d *fastDecoder) boolean() (bool, error) {
	if d.off >= len(d.b) {
		return false, d.truncated()
	}
	c := d.b[d.off]
	if c > 1 {
		return false, d.errorf(ErrMalformed, "boolean byte %#x at byte %d", c, d.off)
	}
	d.off++
	return c == 1, nil
}

// time reads timestamp-millis as goavro converts it.
func (d *fastDecoder) time() (time.Time, error) {
	ms, err := d.varint(10)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms).UTC(), nil
}

// union reads a branch index of a union with n branches.
func (d *fastDecoder) union(n int64) (int64, error) {
	// A branch index in range is one even byte; anything else takes the
	// general path and its errors.
	if off := d.off; off < len(d.b) {
		if c := d.b[off]; c < 0x80 && c&1 == 0 && int64(c>>1) < n {
			d.off = off + 1
			return int64(c >> 1), nil
		}
	}
	i, err := d.varint(10)
	if err != nil {
		return 0, err
	}
	if i < 0 || i >= n {
		return 0, d.errorf(ErrMalformed, "union index %d out of range at byte %d", i, d.off)
	}
	return i, nil
}

func (d *fastDecoder) optDouble() (*float64, error) {
	b, err := d.union(2)
	if err != nil || b == 0 {
		return nil, err
	}
	f, err := d.double()
	if err != nil {
		return nil, err
	}
	return &f, nil
}

func (d *fastDecoder) optString() (*string, error) {
	b, err := d.union(2)
	if err != nil || b == 0 {
		return nil, err
	}
	s, err := d.str(true)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// block reads the item count of the next block of an array or map, with
// the guard's checks: a negative count is followed by a byte size, and the
// count must fit in the bytes left and in the item limit. 0 ends the value.
func (d *fastDecoder) block(per int64, what string) (int64, error) {
	count, err := d.varint(10)
	if err != nil || count == 0 {
		return 0, err
	}
	if count < 0 {
		if count == math.MinInt64 {
			return 0, d.errorf(ErrMalformed, "block count out of range at byte %d", d.off)
		}
		count = -count
		size, err := d.varint(10)
		if err != nil {
			return 0, err
		}
		if size < 0 {
			return 0, d.errorf(ErrMalformed, "negative block size at byte %d", d.off)
		}
	}
	if count > int64(len(d.b)-d.off)/per {
		return 0, d.errorf(ErrMalformed, "block of %d %s cannot fit in the %d bytes left at byte %d", count, what, len(d.b)-d.off, d.off)
	}
	if d.items += count; d.items > d.maxItems {
		return 0, d.errorf(ErrTooLarge, "more than %d array and map entries", d.maxItems)
	}
	return count, nil
}

// duplicate remembers the first repeated map key; the decoded value is then
// discarded with its error.
func (d *fastDecoder) duplicate(k string) {
	if d.dup == nil {
		d.dup = fmt.Errorf("%w: %s: cannot decode binary map: duplicate key: %q", ErrMalformed, d.event, k)
	}
}

// features reads the feature map; the union's branches are
// null, double, long, string, boolean.
func (d *fastDecoder) features() (map[string]any, error) {
	count, err := d.block(minFeatureEntry, "map entries")
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, count)
	for i := 0; count > 0; {
		for ; count > 0; count-- {
			k, err := d.key(i)
			if err != nil {
				return nil, err
			}
			i++
			b, err := d.union(5)
			if err != nil {
				return nil, err
			}
			var v any
			switch b {
			case featureDouble:
				v, err = d.double()
			case featureLong:
				v, err = d.varint(10)
			case featureString:
				v, err = d.value(i - 1)
			case featureBoolean:
				v, err = d.boolean()
			}
			if err != nil {
				return nil, err
			}
			// A key already present leaves the length unchanged: one
			// hash per entry instead of a lookup and an assignment.
			n := len(m)
			if m[k] = v; len(m) == n {
				d.duplicate(k)
			}
		}
		if count, err = d.block(minFeatureEntry, "map entries"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (d *fastDecoder) mapString() (map[string]string, error) {
	count, err := d.block(minStringEntry, "map entries")
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, count)
	for count > 0 {
		for ; count > 0; count-- {
			k, err := d.str(true)
			if err != nil {
				return nil, err
			}
			if _, ok := m[k]; ok {
				d.duplicate(k)
			}
			v, err := d.str(true)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		if count, err = d.block(minStringEntry, "map entries"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// optMapDouble reads a [null, map<double>]: nil for null, a non-nil map
// otherwise, as the generic path returns them.
func (d *fastDecoder) optMapDouble() (map[string]float64, error) {
	b, err := d.union(2)
	if err != nil || b == 0 {
		return nil, err
	}
	count, err := d.block(minDoubleEntry, "map entries")
	if err != nil {
		return nil, err
	}
	m := make(map[string]float64, count)
	for count > 0 {
		for ; count > 0; count-- {
			k, err := d.str(true)
			if err != nil {
				return nil, err
			}
			if _, ok := m[k]; ok {
				d.duplicate(k)
			}
			v, err := d.double()
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		if count, err = d.block(minDoubleEntry, "map entries"); err != nil {
			return nil, err
		}
	}
	return m, nil
}
