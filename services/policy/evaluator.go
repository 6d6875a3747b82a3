package policy

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/driftline/driftline/schemas"
)

// DefaultIdleExpiry is how long, in event time, an evaluator keeps the state
// of a series or a (policy, model) that sees no new window.
const DefaultIdleExpiry = 7 * 24 * time.Hour

// pruneEvery spaces out the sweeps for idle state, in event time, so that
// Flush after every small batch stays cheap.
const pruneEvery = time.Hour

// Option configures an Evaluator.
type Option func(*Evaluator)

// WithIdleExpiry drops the state of series and (policy, model) pairs whose
// newest window, cooldown and firing all ended more than d (event time)
// before the newest window seen, so retired models and versions do not
// accumulate. d <= 0 keeps everything.
func WithIdleExpiry(d time.Duration) Option {
	return func(e *Evaluator) { e.idle = d }
}

// Evaluator applies a Set to metric windows; see the package documentation
// for the semantics. It is safe for concurrent use, though the service feeds
// it from one goroutine in Kafka order, which is what makes replays
// deterministic.
type Evaluator struct {
	mu        sync.Mutex
	policies  []Policy
	byName    map[string]int
	idle      time.Duration
	series    map[seriesKey]*series
	gates     map[gateKey]*gate
	maxEnd    time.Time // newest WindowEnd seen, the evaluator's event-time clock
	lastPrune time.Time
}

// seriesKey names one series: a policy applied to one model version's metric
// for one feature (or the dataset) in one segment.
type seriesKey struct {
	policy                                            int
	model, version, variant, segment, family, feature string
}

// gateKey is the unit of cooldown: a policy and a model, across versions.
type gateKey struct {
	policy int
	model  string
}

type slot struct {
	crossed, recovered bool
	m                  schemas.MetricWindow
}

type series struct {
	slots []slot // ascending WindowStart, at most Of, within Of window lengths of the newest
	// disarmedUntil is non-zero while hysteresis holds the series back after
	// it fired: a recovered window starting at or after it re-arms the series.
	disarmedUntil time.Time
	// countFrom excludes crossings before the last re-arm from N.
	countFrom time.Time
	lastEnd   time.Time
}

type gate struct {
	lastFiredEnd  time.Time // WindowEnd of the last firing window
	cooldownUntil time.Time
	pending       *pending
}

// pending is a firing decided but not yet emitted, still collecting evidence
// from the other series that fire on the same window.
type pending struct {
	model, version string // version of the series that opened the firing
	start, end     time.Time
	evidence       map[seriesKey][]schemas.MetricWindow
}

// NewEvaluator returns an evaluator for s (Default() if s is nil) with empty
// state.
func NewEvaluator(s *Set, opts ...Option) *Evaluator {
	if s == nil {
		s = Default()
	}
	e := &Evaluator{
		policies: slices.Clone(s.Policies),
		byName:   map[string]int{},
		idle:     DefaultIdleExpiry,
		series:   map[seriesKey]*series{},
		gates:    map[gateKey]*gate{},
	}
	for i := range e.policies {
		p := &e.policies[i]
		// Load validates; a Set built by hand is clamped to sane values
		// rather than making the evaluator misbehave.
		p.Windows = max(p.Windows, 1)
		p.Of = min(max(p.Of, p.Windows), MaxWindows)
		p.Windows = min(p.Windows, p.Of)
		p.Cooldown = max(p.Cooldown, 0)
		if _, dup := e.byName[p.Name]; !dup {
			e.byName[p.Name] = i
		}
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Observe feeds one metric window and returns the triggers that became final
// because of it: firings of earlier windows of the same policy and model,
// whose evidence is now complete. A firing on m's own window stays pending
// until a later window or Flush.
func (e *Evaluator) Observe(m schemas.MetricWindow) []schemas.Trigger {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m.WindowEnd.After(e.maxEnd) {
		e.maxEnd = m.WindowEnd
	}
	var out []schemas.Trigger
	for i := range e.policies {
		p := &e.policies[i]
		if !p.matches(&m) {
			continue
		}
		g := e.gate(gateKey{i, m.ModelID})
		if g.pending != nil && m.WindowStart.After(g.pending.start) {
			out = append(out, e.emit(p, g))
		}
		sk := seriesKey{i, m.ModelID, m.ModelVersion, m.Variant, m.Segment, m.Family, m.Feature}
		s := e.seriesFor(sk)
		if !s.record(p, &m) {
			continue // a stale revision, or too old for the last Of windows
		}
		s.rearm()
		fw := s.firing(p)
		if fw == nil {
			continue
		}
		_, joined := g.pending.evidenceOf(sk)
		if !s.armed() && !joined {
			continue
		}
		switch {
		case g.pending != nil && g.pending.start.Equal(fw.WindowStart):
			// Another series firing on the pending window: more evidence
			// for the same trigger, not a second one.
		case fw.WindowEnd.Before(g.cooldownUntil) || !fw.WindowEnd.After(g.lastFiredEnd):
			continue
		default:
			if g.pending != nil {
				// Only with a zero cooldown can a later window fire while
				// an earlier one is pending.
				out = append(out, e.emit(p, g))
			}
			g.pending = &pending{
				model: m.ModelID, version: m.ModelVersion,
				start: fw.WindowStart, end: fw.WindowEnd,
				evidence: map[seriesKey][]schemas.MetricWindow{},
			}
			g.lastFiredEnd = fw.WindowEnd
			g.cooldownUntil = fw.WindowEnd.Add(p.Cooldown)
		}
		g.pending.evidence[sk] = s.evidence()
		if p.Hysteresis > 0 {
			s.disarmedUntil = fw.WindowEnd
			s.rearm()
		}
	}
	return out
}

// Flush emits every pending trigger, ordered by policy and model. The service
// calls it after each fetched batch, so a firing never waits for the model's
// next window.
func (e *Evaluator) Flush() []schemas.Trigger {
	e.mu.Lock()
	defer e.mu.Unlock()
	var keys []gateKey
	for k, g := range e.gates {
		if g.pending != nil {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b gateKey) int {
		return cmp.Or(cmp.Compare(a.policy, b.policy), cmp.Compare(a.model, b.model))
	})
	var out []schemas.Trigger
	for _, k := range keys {
		out = append(out, e.emit(&e.policies[k.policy], e.gates[k]))
	}
	e.prune()
	return out
}

// Seed restores cooldowns and hysteresis from triggers emitted before a
// restart (read back from the triggers table), so a restarted service does not
// fire again for what it already acted on. Triggers of policies the set no
// longer has are skipped; Seed returns how many were applied. Call it before
// the first Observe.
func (e *Evaluator) Seed(triggers []schemas.Trigger) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, t := range triggers {
		i, ok := e.byName[t.Policy]
		if !ok {
			continue
		}
		p := &e.policies[i]
		g := e.gate(gateKey{i, t.ModelID})
		g.lastFiredEnd = later(g.lastFiredEnd, t.CreatedAt)
		g.cooldownUntil = later(g.cooldownUntil, t.CooldownUntil)
		e.maxEnd = later(e.maxEnd, t.CreatedAt)
		if p.Hysteresis > 0 {
			// Every series in the evidence fired, so each one waits for a
			// recovery after the firing window, as it did before the restart.
			for _, m := range t.Evidence {
				if m.ModelID != t.ModelID || !p.matches(&m) {
					continue
				}
				s := e.seriesFor(seriesKey{i, m.ModelID, m.ModelVersion, m.Variant, m.Segment, m.Family, m.Feature})
				s.disarmedUntil = later(s.disarmedUntil, t.CreatedAt)
				s.lastEnd = later(s.lastEnd, t.CreatedAt)
			}
		}
		n++
	}
	return n
}

// TriggerID is the deterministic id of the trigger that policy fires for a
// model version on the window starting at windowStart (millisecond
// precision, as stored): the same firing always gets the same id, so
// replays are deduplicated downstream.
func TriggerID(policy, model, version string, windowStart time.Time) string {
	h := sha256.New()
	var buf []byte
	for _, s := range []string{policy, model, version} {
		// Length prefixes keep ("ab","c") and ("a","bc") apart.
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	buf = binary.BigEndian.AppendUint64(buf, uint64(windowStart.UnixMilli()))
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func (e *Evaluator) gate(k gateKey) *gate {
	g := e.gates[k]
	if g == nil {
		g = &gate{}
		e.gates[k] = g
	}
	return g
}

func (e *Evaluator) seriesFor(k seriesKey) *series {
	s := e.series[k]
	if s == nil {
		s = &series{}
		e.series[k] = s
	}
	return s
}

// emit turns g's pending firing into a trigger.
func (e *Evaluator) emit(p *Policy, g *gate) schemas.Trigger {
	pd := g.pending
	g.pending = nil
	var ev []schemas.MetricWindow
	for _, ms := range pd.evidence {
		ev = append(ev, ms...)
	}
	slices.SortFunc(ev, func(a, b schemas.MetricWindow) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart),
			cmp.Compare(a.ModelVersion, b.ModelVersion),
			cmp.Compare(a.Segment, b.Segment),
			cmp.Compare(a.Feature, b.Feature),
			cmp.Compare(a.Family, b.Family),
			cmp.Compare(a.Variant, b.Variant))
	})
	return schemas.Trigger{
		TriggerID:     TriggerID(p.Name, pd.model, pd.version, pd.start),
		ModelID:       pd.model,
		ModelVersion:  pd.version,
		Policy:        p.Name,
		Action:        p.Action,
		Severity:      p.Severity,
		Evidence:      ev,
		CreatedAt:     pd.end,
		CooldownUntil: pd.end.Add(p.Cooldown),
	}
}

// prune drops idle state; see WithIdleExpiry.
func (e *Evaluator) prune() {
	if e.idle <= 0 || e.maxEnd.Sub(e.lastPrune) < min(e.idle, pruneEvery) {
		return
	}
	e.lastPrune = e.maxEnd
	cutoff := e.maxEnd.Add(-e.idle)
	for k, s := range e.series {
		if s.lastEnd.Before(cutoff) {
			delete(e.series, k)
		}
	}
	for k, g := range e.gates {
		if g.pending == nil && g.lastFiredEnd.Before(cutoff) && g.cooldownUntil.Before(cutoff) {
			delete(e.gates, k)
		}
	}
}

func (pd *pending) evidenceOf(k seriesKey) ([]schemas.MetricWindow, bool) {
	if pd == nil {
		return nil, false
	}
	ev, ok := pd.evidence[k]
	return ev, ok
}

// record puts m into the ring and reports whether the ring changed: false for
// an older revision of a window already held, or a window older than the last
// Of windows.
func (s *series) record(p *Policy, m *schemas.MetricWindow) bool {
	i, found := slices.BinarySearchFunc(s.slots, m.WindowStart, func(sl slot, t time.Time) int {
		return sl.m.WindowStart.Compare(t)
	})
	sl := slot{crossed: p.crossed(m), recovered: p.Hysteresis > 0 && p.recovered(m), m: *m}
	if found {
		if m.Revision < s.slots[i].m.Revision {
			return false
		}
		s.slots[i] = sl
	} else {
		s.slots = slices.Insert(s.slots, i, sl)
	}
	s.lastEnd = later(s.lastEnd, m.WindowEnd)
	s.trim(p.Of)
	_, kept := slices.BinarySearchFunc(s.slots, m.WindowStart, func(sl slot, t time.Time) int {
		return sl.m.WindowStart.Compare(t)
	})
	return kept
}

// trim keeps the windows that start within of window lengths of the newest
// one (a window that produced no metric counts as not crossed), and at most
// of of them.
func (s *series) trim(of int) {
	if len(s.slots) == 0 {
		return
	}
	newest := s.slots[len(s.slots)-1].m
	if size := newest.WindowEnd.Sub(newest.WindowStart); size > 0 && size < math.MaxInt64/time.Duration(of) {
		cutoff := newest.WindowStart.Add(-time.Duration(of) * size)
		drop := 0
		for drop < len(s.slots) && !s.slots[drop].m.WindowStart.After(cutoff) {
			drop++
		}
		s.slots = s.slots[drop:]
	}
	if extra := len(s.slots) - of; extra > 0 {
		s.slots = s.slots[extra:]
	}
}

func (s *series) armed() bool { return s.disarmedUntil.IsZero() }

// rearm ends a hysteresis hold at the first recovered window after the firing.
func (s *series) rearm() {
	if s.armed() {
		return
	}
	for _, sl := range s.slots {
		if sl.recovered && !sl.m.WindowStart.Before(s.disarmedUntil) {
			s.disarmedUntil = time.Time{}
			s.countFrom = sl.m.WindowEnd
			return
		}
	}
}

// firing returns the latest crossing window if at least Windows of the
// counted windows crossed, else nil.
func (s *series) firing(p *Policy) *schemas.MetricWindow {
	n := 0
	var last *schemas.MetricWindow
	for i := range s.slots {
		if sl := &s.slots[i]; sl.crossed && !sl.m.WindowStart.Before(s.countFrom) {
			n++
			last = &sl.m
		}
	}
	if n < p.Windows {
		return nil
	}
	return last
}

// evidence returns the counted crossing windows.
func (s *series) evidence() []schemas.MetricWindow {
	var ev []schemas.MetricWindow
	for _, sl := range s.slots {
		if sl.crossed && !sl.m.WindowStart.Before(s.countFrom) {
			ev = append(ev, sl.m)
		}
	}
	return ev
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
