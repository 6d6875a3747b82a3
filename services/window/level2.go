package window

import (
	"math"
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
	// recompute emits a window finished with an idle partition excused
	// again once every partition has passed it (Config.RecomputeAfterIdle).
	recompute bool
	// marks holds each source partition's watermark as read from each
	// partials partition. Level 1 sends a window's partial before the
	// heartbeat that passes it, on the same partials partition, but Kafka
	// orders records only within a partition: a heartbeat read from another
	// partials partition may overtake the partial, so a window closes only
	// on the heartbeats of its own partials partition.
	marks     map[int32]map[int32]mark // partials partition → source partition → progress
	windows   map[Key]*merge
	minOffset map[int32]int64 // partials partition → next offset if nothing pending
	views     []View
	pending   map[ViewKey]int32 // view instances touched by windows that went out → their partials partition
}

// mark is a source partition's progress as level 2 last heard it.
type mark struct {
	wm     time.Time
	idle   bool
	active time.Time // level 2's clock when it last turned active
}

type merge struct {
	pp    int32             // the partials partition its partials arrive on
	parts map[int32]*series // source partition → its partials
	// firsts holds the offset of the window's first partial on each
	// partials partition it came on: the commit stays before it while the
	// window is kept (see Committable).
	firsts   map[int32]int64
	accepted int32 // partials taken, which numbers the window's revisions
	done     bool
	dirty    bool
	// provisional marks a window finished while an idle partition behind
	// it was excused; recomputed counts the times it went out again once
	// every partition had passed it (one more revision each).
	provisional bool
	recomputed  int32
}

// Final is a window ready to be computed: the partials of each source
// partition that sent one (the latest of each disjoint offset range, most
// often just one per source partition; consumers merge them all), and the
// window's revision. The revision counts the partials level 2 has taken
// for the window, less one (a window of several source partitions goes
// out first under a revision above 0): it grows with every late update,
// and it is the same for the same partials whether level 2 merged them in
// one run or read them again after a restart, so a window re-emitted after
// a restart never goes out under a revision lower than before, where the
// store (ReplacingMergeTree on revision) would drop its late updates.
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
		recompute: cfg.RecomputeAfterIdle,
		marks:     make(map[int32]map[int32]mark),
		windows:   make(map[Key]*merge),
		minOffset: make(map[int32]int64),
		views:     cfg.Views,
		pending:   make(map[ViewKey]int32),
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
		w = &merge{pp: pp, parts: make(map[int32]*series), firsts: make(map[int32]int64)}
		l.windows[k] = w
	}
	if _, ok := w.firsts[pp]; !ok {
		w.firsts[pp] = offset
	}
	s := w.parts[p.SourcePartition]
	if s == nil {
		s = &series{}
		w.parts[p.SourcePartition] = s
	}
	if !s.add(p) {
		return // a replay of an older revision, or a restarted level 1 still behind
	}
	if w.accepted < math.MaxInt32 {
		w.accepted++
	}
	if w.done {
		w.dirty = true
	}
}

// series is what level 2 holds of one source partition's partials of one
// window.
//
// Partials whose offset ranges are disjoint hold different records and are
// kept side by side: a late event read by a level 1 restarted past its
// window goes out as a partial of its own (see Level1.Add), after the
// whole one the old instance handed over, and both count. A partial that
// overlaps kept ones takes their place. It is either a newer revision of
// the same segment (a segment only grows, so it contains the older one and
// holds at least its events), or the partial of a level 1 restarted before
// them, which reads every record after its restart point again.
//
// Ranges that overlap only in part never come from one instance: its
// segments of a window are disjoint and each revision contains the one
// before. Nor do they straddle a restart point: each instance keeps every
// segment wholly before or after each offset it found committable
// (Level1.Committable, Level1.Add), so the old partials before the point a
// successor reads from are disjoint from its partials, and stay. After
// that point, though, the successor cuts a window's late records into
// segments where it commits, which need not be where the old instance did,
// and its first partials may hold fewer events than the old ones (it hands
// the window over before reading the late events again). So the old
// partials it overlaps go to held, and the window is merged from held
// until cur spans all of them again with at least as many events: by then
// the successor has read their records again. Taking its partials rather
// than ignoring them keeps the events only it holds.
//
// Should a partial straddle a restart point anyway (a writer cutting its
// segments otherwise), the successor never spans the records before the
// point, and the window stays merged from the old partials: the successor's
// later events are lost, as when the partial with more events won.
//
// Nothing is double counted, as the ranges in cur are disjoint; and a
// series merged from held holds what it did before the successor started.
//
// A partial with unknown offsets (from a writer before them, -1) overlaps
// every other and follows the rule from before offsets were known: it
// takes the place of the kept ones if it supersedes all of them, and is
// ignored if not. A source partition then has one partial per window.
type series struct {
	cur  []schemas.WindowPartial // disjoint offset ranges
	held []schemas.WindowPartial // cur before a restarted level 1's partials, until they span it
}

// add takes partial p and reports whether it changed the partials the
// window is merged from.
func (s *series) add(p schemas.WindowPartial) bool {
	unknown := !known(&p)
	successor := true // p contains and supersedes every partial it overlaps
	for i := range s.cur {
		k := &s.cur[i]
		if !overlap(&p, k) {
			continue
		}
		if unknown || !known(k) {
			unknown = true
		} else if !contains(&p, k) || !supersedes(&p, k) {
			successor = false
		}
	}
	if unknown {
		for i := range s.cur {
			if overlap(&p, &s.cur[i]) && !supersedes(&p, &s.cur[i]) {
				return false // a replay of an older revision
			}
		}
		s.held = nil
	} else if !successor && s.held == nil {
		s.held = s.cur
	}
	cur := make([]schemas.WindowPartial, 0, len(s.cur)+1)
	for i := range s.cur {
		if !overlap(&p, &s.cur[i]) {
			cur = append(cur, s.cur[i])
		}
	}
	s.cur = append(cur, p)
	if s.held != nil && events(s.cur) >= events(s.held) && covers(s.cur, s.held) {
		s.held = nil
	}
	return s.held == nil
}

// covers reports whether the partials in cur span the offset range of
// every one in held. A restarted level 1 reads every record after its
// restart point again, and no old partial straddles that point, so its
// partials come to span the old ones; one that does not has only some of
// their records, and holding more events is not enough to replace them.
func covers(cur, held []schemas.WindowPartial) bool {
	for i := range held {
		h := &held[i]
		lo, hi := h.LastOffset+1, h.FirstOffset-1
		for j := range cur {
			if c := &cur[j]; overlap(c, h) {
				lo, hi = min(lo, c.FirstOffset), max(hi, c.LastOffset)
			}
		}
		if lo > h.FirstOffset || hi < h.LastOffset {
			return false
		}
	}
	return true
}

// merged returns the partials the window is merged from.
func (s *series) merged() []schemas.WindowPartial {
	if s.held != nil {
		return s.held
	}
	return s.cur
}

func events(ps []schemas.WindowPartial) int64 {
	var n int64
	for i := range ps {
		n += ps[i].Count
	}
	return n
}

// known reports whether a partial names its offset range.
func known(p *schemas.WindowPartial) bool { return p.FirstOffset >= 0 && p.LastOffset >= p.FirstOffset }

// overlap reports whether the offset ranges of two partials may share a
// record; unknown ranges may share any.
func overlap(a, b *schemas.WindowPartial) bool {
	if !known(a) || !known(b) {
		return true
	}
	return a.FirstOffset <= b.LastOffset && b.FirstOffset <= a.LastOffset
}

// contains reports whether a's offset range contains b's.
func contains(a, b *schemas.WindowPartial) bool {
	return a.FirstOffset <= b.FirstOffset && b.LastOffset <= a.LastOffset
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

// passedAll reports whether every source partition's watermark, as read
// from partials partition pp, is past t, idle or not.
func (l *Level2) passedAll(pp int32, t time.Time) bool {
	marks := l.marks[pp]
	for p := int32(0); p < l.count; p++ {
		if marks[p].wm.Before(t) {
			return false
		}
	}
	return l.count > 0
}

// Ready returns the windows that every source partition has passed, and the
// revised windows that late partials changed, oldest first.
func (l *Level2) Ready(now time.Time) []Final {
	var out []Final
	for k, m := range l.windows {
		switch {
		case !m.done && l.passed(m.pp, k.End.Add(l.lateness), now):
			m.done = true
			m.provisional = l.recompute && !l.passedAll(m.pp, k.End.Add(l.lateness))
		case m.done && m.dirty:
		case m.done && m.provisional && l.passedAll(m.pp, k.End.Add(l.lateness)):
			// Finished while an idle partition was excused, and passed by
			// every partition now: computed again, under the next
			// revision, from what the store holds by now. A restart of
			// level 2 in between forgets this, and its replay goes out
			// under the first revision again; computed from what the
			// store holds by then, its metrics carry other values, and
			// so another insert token (aggregate.WriteMetrics).
			m.provisional = false
			m.recomputed++
		case m.done && l.passed(m.pp, k.End.Add(l.lateness+l.retain), now):
			// Level 1 takes no more events for it. Should a restart read
			// some of its partials again, the window goes out merged from
			// those alone, under a lower revision (fewer partials) than it
			// went out as, and the store keeps the whole one.
			delete(l.windows, k)
			continue
		default:
			continue
		}
		m.dirty = false
		f := Final{Key: k, Revision: max(m.accepted-1, 0) + m.recomputed}
		for _, s := range m.parts {
			f.Partials = append(f.Partials, s.merged()...)
		}
		l.touch(k, m.pp)
		sort.Slice(f.Partials, func(i, j int) bool {
			a, b := &f.Partials[i], &f.Partials[j]
			if a.SourcePartition != b.SourcePartition {
				return a.SourcePartition < b.SourcePartition
			}
			return a.FirstOffset < b.FirstOffset
		})
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
// to: the first partial of every window kept, finished or not, until its
// retention has passed. A restart reads from the committed offset with no
// memory of finished windows. A window read again only from the middle
// would be merged from its later partials alone, and a late partial for a
// finished window not read again would go out alone: a late event that
// level 1 hands over as a partial of its own (see Level1.Add), or the
// revision of one source partition's partial, without the others. Read
// from its first partial, the window is merged whole again, and its
// revisions go on from where they were (see Final).
func (l *Level2) Committable(pp int32) int64 {
	min, ok := l.minOffset[pp]
	if !ok {
		return -1
	}
	for _, m := range l.windows {
		if o, ok := m.firsts[pp]; ok && o < min {
			min = o
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
