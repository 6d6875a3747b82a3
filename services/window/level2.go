package window

import (
	"sort"
	"time"

	"github.com/driftline/driftline/schemas"
)

// Level2 merges the partials of all source partitions. It is not safe for
// concurrent use; a consumer loop owns it.
type Level2 struct {
	family   string
	lateness time.Duration
	retain   time.Duration
	idle     time.Duration // how long another partition must be active before an idle one is skipped
	count    int32         // source partitions
	// marks holds each source partition's watermark as read from each
	// partials partition. Level 1 sends a window's partial before the
	// heartbeat that passes it, on the same partials partition, but Kafka
	// orders records only within a partition: a heartbeat read from another
	// partials partition may overtake the partial, so a window closes only
	// on the heartbeats of its own partials partition.
	marks     map[int32]map[int32]mark // partials partition → source partition → progress
	windows   map[Key]*merge
	minOffset map[int32]int64 // partials partition → next offset if nothing pending
}

// mark is a source partition's progress as level 2 last heard it.
type mark struct {
	wm     time.Time
	idle   bool
	active time.Time // level 2's clock when it last turned active
}

type merge struct {
	pp      int32 // the partials partition its partials arrive on
	parts   map[int32]schemas.WindowPartial
	offsets map[int32]int64 // partials partition → oldest record of this window since it was last emitted
	// first and last are the offsets of the window's first and newest
	// partial on its partials partition, kept while the window is.
	first, last int64
	done        bool
	revision    int32
	dirty       bool
}

// Final is a window ready to be computed: the latest partial of each source
// partition that sent one, and the window's revision (0 the first time, then
// one more for each late update).
type Final struct {
	Key      Key
	Partials []schemas.WindowPartial
	Revision int32
}

// NewLevel2 merges partials of family; others are ignored.
func NewLevel2(family string, cfg Config) *Level2 {
	cfg = cfg.withDefaults()
	return &Level2{
		family:    family,
		lateness:  cfg.Lateness,
		retain:    cfg.Retain,
		idle:      cfg.IdleTimeout,
		marks:     make(map[int32]map[int32]mark),
		windows:   make(map[Key]*merge),
		minOffset: make(map[int32]int64),
	}
}

// KeyOf returns the window key of a partial.
func KeyOf(p *schemas.WindowPartial) Key {
	return Key{Family: p.Family, ModelID: p.ModelID, ModelVersion: p.ModelVersion, Variant: p.Variant,
		Segment: p.Segment, Start: p.WindowStart.UTC(), End: p.WindowEnd.UTC()}
}

// Add takes one partial (or heartbeat) read from partials partition pp at
// offset, at now on level 2's clock.
func (l *Level2) Add(pp int32, offset int64, p schemas.WindowPartial, now time.Time) {
	if offset+1 > l.minOffset[pp] {
		l.minOffset[pp] = offset + 1
	}
	if p.Family != l.family {
		return
	}
	if p.PartitionCount > l.count {
		l.count = p.PartitionCount
	}
	marks := l.marks[pp]
	if marks == nil {
		marks = make(map[int32]mark)
		l.marks[pp] = marks
	}
	m := marks[p.SourcePartition]
	if p.Watermark.After(m.wm) {
		m.wm = p.Watermark
	}
	if p.ModelID == "" { // only heartbeats say whether a partition is idle
		if (m.idle || m.active.IsZero()) && !p.Idle {
			m.active = now
		}
		m.idle = p.Idle
	}
	marks[p.SourcePartition] = m
	if p.ModelID == "" {
		return
	}
	k := KeyOf(&p)
	w := l.windows[k]
	if w == nil {
		w = &merge{pp: pp, parts: make(map[int32]schemas.WindowPartial), offsets: make(map[int32]int64), first: offset}
		l.windows[k] = w
	}
	w.last = max(w.last, offset)
	if old, ok := w.parts[p.SourcePartition]; ok && !supersedes(&p, &old) {
		return // a replay of an older revision
	}
	w.parts[p.SourcePartition] = p
	if _, ok := w.offsets[pp]; !ok {
		w.offsets[pp] = offset
	}
	if w.done {
		w.dirty = true
	}
}

// supersedes reports whether partial p replaces old, from the same source
// partition and window: it holds more events, or as many with a revision
// at least as new. Events are only ever added to a window, so the count
// orders partials even across a level-1 restart, which numbers a window's
// revisions from 0 again: a restarted level 1 re-reads the whole window
// (see Level1.Committable), and its revision 0 may hold events the older
// instance's revision 2 never saw.
func supersedes(p, old *schemas.WindowPartial) bool {
	return p.Count > old.Count || p.Count == old.Count && p.Revision >= old.Revision
}

// passed reports whether every source partition's watermark, as read from
// partials partition pp, is past t. A watermark is a fact whether or not its
// partition has gone idle since; idleness only excuses a partition that is
// behind. An idle partition handed over what it had and is skipped, but
// only once another partition has been active for the idle timeout: after a
// pause of the whole input every partition is idle, and when traffic resumes
// the first one back must not finish windows whose events the others are
// about to bring. Some partition must have passed t itself.
func (l *Level2) passed(pp int32, t, now time.Time) bool {
	marks := l.marks[pp]
	settled := false // some partition has been active for the idle timeout
	for p := int32(0); p < l.count; p++ {
		if m := marks[p]; !m.idle && !m.active.IsZero() && now.Sub(m.active) >= l.idle {
			settled = true
		}
	}
	reached := false
	for p := int32(0); p < l.count; p++ {
		switch m := marks[p]; {
		case !m.wm.Before(t):
			reached = true
		case m.idle && settled:
		default:
			return false
		}
	}
	return reached
}

// Ready returns the windows that every source partition has passed, and the
// revised windows that late partials changed, oldest first.
func (l *Level2) Ready(now time.Time) []Final {
	var out []Final
	commit := map[int32]int64{}
	for pp := range l.minOffset {
		commit[pp] = l.Committable(pp)
	}
	for k, m := range l.windows {
		switch {
		case !m.done && l.passed(m.pp, k.End.Add(l.lateness), now):
			m.done = true
		case m.done && m.dirty:
			m.revision++
		case m.done && l.passed(m.pp, k.End.Add(l.lateness+l.retain), now):
			// Kept past retention while a restart from the committed
			// offset would read some of its partials again: merged from
			// those alone, it would go out short of the others (see
			// Committable).
			if m.last >= commit[m.pp] {
				continue
			}
			delete(l.windows, k)
			continue
		default:
			continue
		}
		m.dirty = false
		m.offsets = map[int32]int64{}
		f := Final{Key: k, Revision: m.revision}
		for _, p := range m.parts {
			f.Partials = append(f.Partials, p)
		}
		sort.Slice(f.Partials, func(i, j int) bool { return f.Partials[i].SourcePartition < f.Partials[j].SourcePartition })
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Key.Start.Equal(out[j].Key.Start) {
			return out[i].Key.Start.Before(out[j].Key.Start)
		}
		return out[i].Key.ModelID+out[i].Key.Variant < out[j].Key.ModelID+out[j].Key.Variant
	})
	return out
}

// Committable returns the offset partials partition pp may be committed up
// to: the oldest partial of a window not yet finished; and the first
// partial of every kept window with partials on both sides of that point.
// A restart reads from the committed offset with no memory of finished
// windows, so a window read again only from the middle would be merged
// from its later source partitions alone and emitted short of the others;
// read from its first partial, it is merged whole again.
func (l *Level2) Committable(pp int32) int64 {
	min, ok := l.minOffset[pp]
	if !ok {
		return -1
	}
	for _, m := range l.windows {
		if o, ok := m.offsets[pp]; ok && o < min {
			min = o
		}
	}
	for moved := true; moved; {
		moved = false
		for _, m := range l.windows {
			if m.pp == pp && m.first < min && m.last >= min {
				min, moved = m.first, true
			}
		}
	}
	return min
}

// Watermark returns the lowest watermark over the source partitions and
// the partials partitions read.
func (l *Level2) Watermark() time.Time {
	var min time.Time
	for _, marks := range l.marks {
		for p := int32(0); p < l.count; p++ {
			if w := marks[p].wm; min.IsZero() || w.Before(min) {
				min = w
			}
		}
	}
	return min
}
