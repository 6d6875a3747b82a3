// Package window is Driftline's two-level event-time windowing engine.
//
// Level 1 runs beside a consumer of a keyed topic: per source partition it
// keeps a watermark (max event time − allowed out-of-orderness) and one
// accumulator per open tumbling window, and hands a window over as soon as
// the partition's watermark passes its end plus the allowed lateness. Level 2
// merges the handed-over partials of all source partitions and finishes a
// window once every partition's watermark has passed it. Splitting the work
// this way lets one hot model scale past one partition. Every partial names
// the source offsets of its records, and level 2 keeps per (window, source
// partition) the latest partial of each disjoint offset range: a replay
// after a crash recomputes the same partials (or ones containing them) and
// never double-counts, and a late event read by a level 1 restarted past
// its window goes out as a partial of its own that is added, not lost.
package window

import (
	"time"
)

// Key identifies one window of one series.
type Key struct {
	Family       string
	ModelID      string
	ModelVersion string
	Variant      string
	Segment      string
	Start        time.Time
	End          time.Time
}

// Config sets the engine's timing. Zero values take the defaults.
type Config struct {
	// Size returns the window size for a model; nil means DefaultSize.
	Size func(modelID string) time.Duration
	// OutOfOrderness is how far behind the newest event an event may arrive
	// and still count as on time.
	OutOfOrderness time.Duration
	// Lateness is how long after its end (in watermark time) a window stays
	// open.
	Lateness time.Duration
	// Retain is how long a handed-over window is kept so that a late event
	// re-emits it with a higher revision; later than that, late events are
	// only counted.
	Retain time.Duration
	// IdleTimeout is how long (processing time) a caught-up partition may
	// see no records before it counts as idle: it hands its open windows
	// over and stops holding other partitions' windows open. Its watermark
	// never jumps to the clock: event time may be far from processing time
	// (a backfill, a replay), and a clock-driven watermark would close
	// windows whose events are still to come.
	IdleTimeout time.Duration
	// ManualWatermark leaves the watermark to Advance instead of deriving it
	// from the event times given to Add, for services whose windows are in
	// one time (prediction time) but close by another (label arrival).
	ManualWatermark bool
	// RecomputeAfterIdle has level 2 emit a window once more when every
	// source partition's watermark has passed it, if it finished while an
	// idle partition was excused: for families whose metrics read state
	// beyond the partials (the labeler joins the labels stored so far),
	// which the idle partition may still add to.
	RecomputeAfterIdle bool
	// Views are the longer views level 2 reports for the windows it
	// finishes (Level2.Views); nil reports none.
	Views []View
}

// Defaults.
const (
	DefaultSize           = 5 * time.Minute
	DefaultOutOfOrderness = 30 * time.Second
	DefaultRetain         = time.Hour
	DefaultIdleTimeout    = 30 * time.Second
	// HeartbeatEvery is how often level 1 repeats a partition's heartbeat
	// when its watermark has not moved.
	HeartbeatEvery = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Size == nil {
		c.Size = func(string) time.Duration { return DefaultSize }
	}
	if c.OutOfOrderness == 0 {
		c.OutOfOrderness = DefaultOutOfOrderness
	}
	if c.Retain == 0 {
		c.Retain = DefaultRetain
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}

// Bounds returns the tumbling window of size that holds t.
func Bounds(t time.Time, size time.Duration) (start, end time.Time) {
	start = t.UTC().Truncate(size)
	return start, start.Add(size)
}
