package normalize

import "github.com/driftline/driftline/schemas"

// Scratch lends Source.DecodeInto the inference events of its previous
// call, with their feature and segment maps, so that a stream of records
// costs no new event, map or event list per record: building the feature
// map was a tenth of the adapter's CPU, and the garbage it left a good
// part of the collector's. What DecodeInto returns is valid until its next
// call with the same Scratch, which overwrites it. The zero value is ready
// to use; a Scratch is not safe for concurrent use.
type Scratch struct {
	slots  []*scratchEvent
	n      int // slots handed out by this call
	events []Event
}

type scratchEvent struct {
	ev       schemas.InferenceEvent
	features map[string]any    // empty, for ev.Features; nil: none yet
	segments map[string]string // empty, for ev.Segments once it has one
}

// Bounds on what a Scratch keeps between calls, so that one huge record
// does not make every later one pay for clearing its maps.
const (
	maxScratchEvents  = 64
	maxScratchEntries = 1024
)

// begin starts a call: every slot may be handed out again.
func (sc *Scratch) begin() []Event {
	sc.n = 0
	clear(sc.events)
	return sc.events[:0]
}

// end keeps the call's event list for the next.
func (sc *Scratch) end(events []Event) {
	if cap(events) <= maxScratchEvents {
		sc.events = events
	}
}

// event returns an empty event to fill, and its kept maps.
func (sc *Scratch) event() *scratchEvent {
	if sc.n < len(sc.slots) {
		r := sc.slots[sc.n]
		sc.n++
		r.ev = schemas.InferenceEvent{}
		r.features = reuse(r.features)
		r.segments = reuse(r.segments)
		return r
	}
	r := &scratchEvent{}
	if len(sc.slots) < maxScratchEvents {
		sc.slots = append(sc.slots, r)
		sc.n++
	}
	return r
}

// reuse empties a kept map, or drops it when it grew large.
func reuse[V any](m map[string]V) map[string]V {
	if len(m) > maxScratchEntries {
		return nil
	}
	clear(m)
	return m
}
