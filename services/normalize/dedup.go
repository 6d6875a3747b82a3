package normalize

import (
	"container/list"
	"errors"
	"time"
)

// DefaultDedupEntries bounds a source's duplicate set when max_entries is
// not given.
const DefaultDedupEntries = 100_000

// DedupConfig turns on duplicate detection for a source: a record whose
// event_id (request_id for labels) was already seen within Horizon is
// dead-lettered as ClassDuplicate.
type DedupConfig struct {
	// Horizon is how long an id is remembered after it was first seen,
	// in processing time; 0 turns detection off.
	Horizon time.Duration `yaml:"horizon"`
	// MaxEntries bounds the ids remembered (about 100 bytes each plus the
	// id); the oldest are forgotten first. Default 100,000.
	MaxEntries int `yaml:"max_entries"`
}

func (c DedupConfig) check() error {
	if c.Horizon < 0 || c.MaxEntries < 0 {
		return errors.New("dedup: horizon and max_entries must not be negative")
	}
	if c.MaxEntries > 0 && c.Horizon == 0 {
		return errors.New("dedup: max_entries without a horizon: set dedup.horizon (e.g. 10m) to turn detection on")
	}
	return nil
}

// Enabled says whether the source detects duplicates.
func (c DedupConfig) Enabled() bool { return c.Horizon > 0 }

// Position is where a document was read: a record's partition and offset
// and the document's index in it.
type Position struct {
	Partition int32
	Offset    int64
	Index     int
}

// Dedup is one source's memory of recent ids, bounded in time and size.
//
// It is per adapter instance, in memory: an id seen by another instance (a
// source whose raw topic has several partitions spread over several
// adapters, when a producer sends the duplicate to another partition), or
// before a restart, is not known. A record handled again at the same
// position (a redelivery after a rebalance or a crash before the commit) is
// not a duplicate of itself: the first sighting's position is kept and
// compared. Not safe for concurrent use.
type Dedup struct {
	horizon time.Duration
	max     int
	byID    map[string]*list.Element
	order   *list.List // of *seen, oldest first
}

type seen struct {
	id  string
	at  time.Time
	pos Position
}

// NewDedup returns an empty set for c.
func NewDedup(c DedupConfig) *Dedup {
	max := c.MaxEntries
	if max <= 0 {
		max = DefaultDedupEntries
	}
	return &Dedup{horizon: c.Horizon, max: max, byID: map[string]*list.Element{}, order: list.New()}
}

// Len is the number of ids remembered.
func (d *Dedup) Len() int { return d.order.Len() }

func (d *Dedup) expire(now time.Time) {
	for e := d.order.Front(); e != nil; e = d.order.Front() {
		s := e.Value.(*seen)
		if now.Sub(s.at) < d.horizon && d.order.Len() <= d.max {
			return
		}
		d.order.Remove(e)
		delete(d.byID, s.id)
	}
}

// Seen reports whether id was first seen at another position within the
// horizon, and that position.
func (d *Dedup) Seen(id string, pos Position, now time.Time) (Position, bool) {
	d.expire(now)
	if e, ok := d.byID[id]; ok {
		s := e.Value.(*seen)
		return s.pos, s.pos != pos
	}
	return Position{}, false
}

// Add remembers id as seen at pos, now; an id already remembered keeps its
// first sighting.
func (d *Dedup) Add(id string, pos Position, now time.Time) {
	if _, ok := d.byID[id]; ok {
		return
	}
	d.byID[id] = d.order.PushBack(&seen{id: id, at: now, pos: pos})
	d.expire(now)
}

// DedupKey is the id duplicates are detected by: event_id for inferences,
// request_id for labels (a request has one label).
func (e Event) DedupKey() string {
	if e.Inference != nil {
		return e.Inference.EventID
	}
	if e.Label != nil {
		return e.Label.RequestID
	}
	return ""
}

// CheckDuplicates returns a ClassDuplicate failure if any of a record's
// events was seen before (or twice in the record), and otherwise remembers
// them all: a record is accepted or rejected whole.
func (d *Dedup) CheckDuplicates(events []Event, partition int32, offset int64, now time.Time) *Failure {
	var inRecord map[string]int
	if len(events) > 1 {
		inRecord = make(map[string]int, len(events))
	}
	for i, ev := range events {
		pos := Position{partition, offset, i}
		id := ev.DedupKey()
		if first, dup := d.Seen(id, pos, now); dup {
			return fail(ClassDuplicate, "id %q was first seen at partition %d offset %d (document %d), within the %v horizon",
				id, first.Partition, first.Offset, first.Index+1, d.horizon)
		}
		if inRecord != nil {
			if j, ok := inRecord[id]; ok {
				return fail(ClassDuplicate, "id %q appears twice in the record (documents %d and %d)", id, j+1, i+1)
			}
			inRecord[id] = i
		}
	}
	for i, ev := range events {
		d.Add(ev.DedupKey(), Position{partition, offset, i}, now)
	}
	return nil
}
