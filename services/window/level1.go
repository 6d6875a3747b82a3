package window

import (
	"time"

	"github.com/driftline/driftline/schemas"
)

// Level1 keeps the open windows of the source partitions one instance owns.
// It is not safe for concurrent use; a consumer loop owns it.
type Level1[A any] struct {
	cfg    Config
	newAcc func(Key) A
	parts  map[int32]*partition[A]
}

type partition[A any] struct {
	maxEvent  time.Time
	watermark time.Time
	lastSeen  time.Time // processing time of the last record
	next      int64     // offset after the last record seen
	// restart is the highest offset Committable returned: a restart may
	// read from it (or from a lower one returned before, should the
	// commits since have failed). A handed-over window never grows across
	// it; see Add.
	restart int64
	open    map[Key]*slot[A]
	handed  map[Key]*slot[A] // handed over, kept for revisions until Retain
	// owed holds segments split off handed windows (see Add) whose last
	// revision is still to be emitted.
	owed     []keyed[A]
	late     int64     // events too late even for a revision
	reported time.Time // watermark in the last heartbeat
	reportAt time.Time // processing time of the last heartbeat
	lagging  bool      // records are known to wait unread
	idle     bool      // caught up and quiet for the idle timeout
	announce bool      // the idle state changed since the last heartbeat
}

type slot[A any] struct {
	acc       A
	minOffset int64
	maxOffset int64 // of the newest record added
	revision  int32
	late      int64
	dirty     bool // changed by late events since it was handed over
	emitted   bool
}

type keyed[A any] struct {
	key Key
	s   *slot[A]
}

// Partial is a window one partition hands over to level 2: its records
// from FirstOffset to LastOffset. A window may go out as several partials
// of disjoint offset ranges (see Add); level 2 merges them all.
type Partial[A any] struct {
	Key         Key
	Partition   int32
	Acc         A
	Revision    int32
	LateEvents  int64
	Watermark   time.Time
	FirstOffset int64
	LastOffset  int64
}

// Heartbeat reports a partition's watermark, and whether it is idle, to
// level 2.
type Heartbeat struct {
	Partition int32
	Watermark time.Time
	Idle      bool
}

// NewLevel1 returns an engine creating accumulators with newAcc.
func NewLevel1[A any](cfg Config, newAcc func(Key) A) *Level1[A] {
	return &Level1[A]{cfg: cfg.withDefaults(), newAcc: newAcc, parts: make(map[int32]*partition[A])}
}

func (l *Level1[A]) part(p int32) *partition[A] {
	ps := l.parts[p]
	if ps == nil {
		ps = &partition[A]{open: make(map[Key]*slot[A]), handed: make(map[Key]*slot[A]), next: -1, restart: -1}
		l.parts[p] = ps
	}
	return ps
}

// Add routes one record of partition p at offset, with event time t, to its
// window and returns the accumulator to update. ok is false when the event is
// later than the retention of its window: it is then only counted.
// k.Start and k.End are filled in from t.
func (l *Level1[A]) Add(p int32, offset int64, k Key, t, now time.Time) (acc A, ok bool) {
	ps := l.part(p)
	ps.seen(now)
	if offset+1 > ps.next {
		ps.next = offset + 1
	}
	k.Start, k.End = Bounds(t, l.cfg.Size(k.ModelID))
	if !l.cfg.ManualWatermark && t.After(ps.maxEvent) {
		ps.maxEvent = t
		if wm := t.Add(-l.cfg.OutOfOrderness); wm.After(ps.watermark) {
			ps.watermark = wm
		}
	}
	if s, open := ps.open[k]; open {
		s.add(offset)
		return s.acc, true
	}
	if s, handed := ps.handed[k]; handed {
		// A late event for a window whose records all lie before a point
		// a restart may read from starts a new segment of the window
		// rather than extend the handed-over one across that point. Were
		// it extended, its next revision would straddle the point, and
		// after a restart from there the new instance's partials of the
		// later records (this event and those still to come) would
		// overlap it only in part: level 2 could neither add them to it
		// (counting this event twice) nor put them in its place (losing
		// the records before the point). As a segment of its own it is
		// read again whole or not at all: level 2 keeps it beside the
		// earlier one, their offset ranges being disjoint, and a new
		// instance's partials of its records take its place.
		if s.maxOffset < ps.restart && offset >= ps.restart {
			if s.dirty {
				ps.owed = append(ps.owed, keyed[A]{k, s})
			}
			s = &slot[A]{acc: l.newAcc(k), minOffset: offset, maxOffset: offset}
			ps.handed[k] = s
		}
		s.add(offset)
		// Late means behind the watermark. A window an idle partition
		// handed over early takes its next events as a revision, but they
		// are on time.
		if !k.End.Add(l.cfg.Lateness).After(ps.watermark) {
			s.late++
		}
		s.dirty = true
		return s.acc, true
	}
	if !k.End.Add(l.cfg.Lateness).After(ps.watermark) {
		// Already past its window and never seen here: a new partial
		// would replace nothing at level 2, but its window may be finished
		// there; let it through as a revision unless it is past retention.
		if !k.End.Add(l.cfg.Lateness + l.cfg.Retain).After(ps.watermark) {
			ps.late++
			var zero A
			return zero, false
		}
		s := &slot[A]{acc: l.newAcc(k), minOffset: offset, maxOffset: offset, late: 1, dirty: true}
		ps.handed[k] = s
		return s.acc, true
	}
	s := &slot[A]{acc: l.newAcc(k), minOffset: offset, maxOffset: offset}
	ps.open[k] = s
	return s.acc, true
}

// add widens the slot's offset range to offset. Records of one window
// usually come in offset order, but a router may add a record under the
// offset of an older one it waited for (shadow pairs a request under its
// first record's).
func (s *slot[A]) add(offset int64) {
	s.minOffset = min(s.minOffset, offset)
	s.maxOffset = max(s.maxOffset, offset)
}

func (ps *partition[A]) seen(now time.Time) {
	ps.lastSeen = now
	if ps.idle {
		ps.idle, ps.announce = false, true
	}
}

// Advance moves partition p's watermark to wm if that is later, for engines
// with ManualWatermark.
func (l *Level1[A]) Advance(p int32, wm, now time.Time) {
	ps := l.part(p)
	ps.seen(now)
	if wm.After(ps.watermark) {
		ps.watermark = wm
	}
}

// Flush hands over every window whose end plus lateness the partition's
// watermark has passed, re-emits revised windows, advances idle partitions
// by the clock and returns the heartbeats level 2 needs to close windows.
func (l *Level1[A]) Flush(now time.Time) ([]Partial[A], []Heartbeat) {
	var out []Partial[A]
	var hbs []Heartbeat
	for p, ps := range l.parts {
		// Only a partition with nothing left to read is idle; one whose
		// records wait behind a slow consumer is not.
		goingIdle := !ps.idle && !ps.lagging && !ps.lastSeen.IsZero() && now.Sub(ps.lastSeen) >= l.cfg.IdleTimeout
		if goingIdle {
			ps.idle, ps.announce = true, true
		}
		closed := false
		for k, s := range ps.open {
			// An idle partition hands over everything it holds: level 2
			// will no longer wait for it. Should more events come for
			// these windows, they follow as revisions.
			if !goingIdle && k.End.Add(l.cfg.Lateness).After(ps.watermark) {
				continue
			}
			delete(ps.open, k)
			ps.handed[k] = s
			s.emitted = true
			out = append(out, s.partial(k, p, ps.watermark))
			closed = true
		}
		for _, o := range ps.owed {
			out = append(out, o.s.revise(o.key, p, ps.watermark))
			closed = true
		}
		ps.owed = nil
		commit := l.committable(ps, -1)
		for k, s := range ps.handed {
			// A revision still owed is emitted before retention drops the
			// window, or the late events in it would be lost.
			if s.dirty {
				out = append(out, s.revise(k, p, ps.watermark))
				closed = true
			}
			// Kept past retention while a restart from the committed offset
			// would read some of its records again (see Committable).
			if !k.End.Add(l.cfg.Lateness+l.cfg.Retain).After(ps.watermark) && s.maxOffset < commit {
				delete(ps.handed, k)
			}
		}
		// A heartbeat goes out when the watermark moved (at most once a
		// second unless a window closed), and again every HeartbeatEvery
		// when it did not: level 2 commits past heartbeats, so an instance
		// that takes a partials partition over learns the watermark of a
		// partition whose input has ended only from a repeated one.
		changed := ps.watermark.After(ps.reported) && (closed || now.Sub(ps.reportAt) >= time.Second)
		repeat := !ps.reportAt.IsZero() && now.Sub(ps.reportAt) >= HeartbeatEvery
		if ps.announce || changed || repeat {
			ps.reported, ps.reportAt, ps.announce = ps.watermark, now, false
			hbs = append(hbs, Heartbeat{Partition: p, Watermark: ps.watermark, Idle: ps.idle})
		}
	}
	return out, hbs
}

func (s *slot[A]) partial(k Key, p int32, wm time.Time) Partial[A] {
	return Partial[A]{Key: k, Partition: p, Acc: s.acc, Revision: s.revision, LateEvents: s.late, Watermark: wm,
		FirstOffset: s.minOffset, LastOffset: s.maxOffset}
}

// revise returns the next revision of a slot changed since it was handed
// over (its first, if it was created handed over).
func (s *slot[A]) revise(k Key, p int32, wm time.Time) Partial[A] {
	s.dirty = false
	if s.emitted {
		s.revision++
	}
	s.emitted = true
	return s.partial(k, p, wm)
}

// Lagging tells whether partition p has records not read yet (from the
// fetch's high watermark). A lagging partition never advances by the clock.
func (l *Level1[A]) Lagging(p int32, lagging bool) {
	l.part(p).lagging = lagging
}

// Committable returns the offset partition p may be committed up to: the
// oldest record still in an open window, or after the last record seen;
// and before every record of a handed-over window that has records on both
// sides of that point. A restart reads from the committed offset with no
// memory of what was handed over, so a window read again only from the
// middle would go out as a partial of its later records alone, which level
// 2 can neither merge with the whole one nor put in its place; read from
// its first record, it goes out whole again. -1 means nothing was seen yet.
//
// The offset returned is remembered as one a restart may read from: a late
// event after it for a window handed over before it starts a new segment
// of that window (see Add), so that no partial ever straddles a point a
// restart may read from. Nor does the value go back (unless a hold does),
// though late events keep coming for windows before it: every open window
// and every segment lies wholly on one side of it.
func (l *Level1[A]) Committable(p int32) int64 {
	return l.CommittableBefore(p, -1)
}

// CommittableBefore is Committable for a partition on which something else
// also holds the commit back, at hold (ignored if negative): a router's
// records not yet durable, say. Cut at the hold alone, the commit could
// fall inside a handed-over window's records and a restart would read it
// from its middle; it goes back to the window's first record instead.
func (l *Level1[A]) CommittableBefore(p int32, hold int64) int64 {
	ps := l.parts[p]
	if ps == nil {
		return -1
	}
	c := l.committable(ps, hold)
	ps.restart = max(ps.restart, c)
	return c
}

func (l *Level1[A]) committable(ps *partition[A], hold int64) int64 {
	min := ps.next
	if hold >= 0 && hold < min {
		min = hold
	}
	for _, s := range ps.open {
		if s.minOffset < min {
			min = s.minOffset
		}
	}
	for moved := true; moved; {
		moved = false
		for _, s := range ps.handed {
			if s.minOffset < min && s.maxOffset >= min {
				min, moved = s.minOffset, true
			}
		}
		for _, o := range ps.owed {
			if o.s.minOffset < min && o.s.maxOffset >= min {
				min, moved = o.s.minOffset, true
			}
		}
	}
	return min
}

// Partitions returns the partitions with state.
func (l *Level1[A]) Partitions() []int32 {
	ps := make([]int32, 0, len(l.parts))
	for p := range l.parts {
		ps = append(ps, p)
	}
	return ps
}

// Watermark returns partition p's watermark.
func (l *Level1[A]) Watermark(p int32) time.Time {
	if ps := l.parts[p]; ps != nil {
		return ps.watermark
	}
	return time.Time{}
}

// DroppedLate returns how many events of partition p came too late even for
// a revision.
func (l *Level1[A]) DroppedLate(p int32) int64 {
	if ps := l.parts[p]; ps != nil {
		return ps.late
	}
	return 0
}

// Revoke forgets partitions this instance no longer owns; their open windows
// are replayed from the committed offsets by the new owner.
func (l *Level1[A]) Revoke(ps ...int32) {
	for _, p := range ps {
		delete(l.parts, p)
	}
}

// Assign registers partitions this instance now owns, so that an owned
// partition that never sees a record still reports itself idle.
func (l *Level1[A]) Assign(now time.Time, ps ...int32) {
	for _, p := range ps {
		s := l.part(p)
		if s.lastSeen.IsZero() {
			// New here: the next heartbeat says the partition is active,
			// whatever its last owner said.
			s.lastSeen, s.announce = now, true
		}
	}
}

// Envelope returns the WindowPartial header of p, without family state.
func (p Partial[A]) Envelope(topic string, partitions int32) schemas.WindowPartial {
	return schemas.WindowPartial{
		Family: p.Key.Family, ModelID: p.Key.ModelID, ModelVersion: p.Key.ModelVersion,
		Variant: p.Key.Variant, Segment: p.Key.Segment,
		WindowStart: p.Key.Start, WindowEnd: p.Key.End,
		SourceTopic: topic, SourcePartition: p.Partition, PartitionCount: partitions,
		Watermark: p.Watermark, Revision: p.Revision, LateEvents: p.LateEvents,
		FirstOffset: p.FirstOffset, LastOffset: p.LastOffset,
	}
}

// Envelope returns the heartbeat partial for h. Every family's level 1
// writes heartbeats to the same partials topic, and their watermarks differ
// (the labeler's lags by the label horizon), so a heartbeat names its family.
func (h Heartbeat) Envelope(family, topic string, partitions int32) schemas.WindowPartial {
	return schemas.WindowPartial{Family: family, SourceTopic: topic, SourcePartition: h.Partition, PartitionCount: partitions,
		Watermark: h.Watermark, Idle: h.Idle, FirstOffset: -1, LastOffset: -1}
}
