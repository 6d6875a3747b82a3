// Package drifttest drives the drift family's windows for tests of what is
// built on them (stored window states, longer views): a reference profile,
// an hour of events with one feature drifting, and level 1 fed through the
// drift router, its partials and heartbeats handed over as level 2 reads
// them from the partials topic.
package drifttest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/drift"
	"github.com/driftline/driftline/services/reference"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Model and Version name the model the profile and events are of.
const (
	Model   = "m"
	Version = "v1"
)

// Profile returns a reference profile of model m, version v1, from 5,000
// rows: numeric a ~ N(0, 1), numeric b ~ N(10, 2), categorical c in
// {x, y, z}.
func Profile(r *rand.Rand) (*schemas.ReferenceProfile, error) {
	var a, b []float64
	var c []string
	for range 5000 {
		a = append(a, r.NormFloat64())
		b = append(b, 10+2*r.NormFloat64())
		c = append(c, []string{"x", "y", "z"}[r.IntN(3)])
	}
	return reference.FromColumns(Model, Version, []reference.Column{
		{Name: "a", Kind: schemas.KindNumeric, Numbers: a},
		{Name: "b", Kind: schemas.KindNumeric, Numbers: b},
		{Name: "c", Kind: schemas.KindCategorical, Strings: c},
	})
}

// References returns Profile(r) and a cache of profiles holding it.
func References(r *rand.Rand) (*schemas.ReferenceProfile, *drift.References, error) {
	p, err := Profile(r)
	if err != nil {
		return nil, nil, err
	}
	refs := drift.NewReferences()
	refs.Put(p)
	return p, refs, nil
}

// Event is an event and the source partition it is read from.
type Event struct {
	Partition int32
	schemas.InferenceEvent
}

// Hour returns n production events spread evenly over the hour from start,
// round-robin over parts source partitions: a drifts by two standard
// deviations through the hour, b is missing in one event of 97, c takes an
// unseen category w. Then one event per partition just past the hour, so
// that every partition's watermark passes it.
func Hour(r *rand.Rand, start time.Time, n, parts int) []Event {
	out := make([]Event, 0, n+parts)
	step := time.Hour / time.Duration(n)
	for i := range n {
		at := start.Add(time.Duration(i) * step)
		e := schemas.InferenceEvent{EventID: fmt.Sprint(i), RequestID: fmt.Sprint(i), ModelID: Model, ModelVersion: Version,
			Variant: schemas.VariantProduction, EventTime: at, LatencyMS: float64(5 + i%7), Features: map[string]any{
				"a": r.NormFloat64() + 2*at.Sub(start).Hours(), "b": 10 + 2*r.NormFloat64(), "c": []string{"x", "y", "z", "w"}[r.IntN(4)]}}
		if i%97 == 0 {
			e.Features["b"] = nil
		}
		out = append(out, Event{Partition: int32(i % parts), InferenceEvent: e})
	}
	for p := range parts {
		out = append(out, Event{Partition: int32(p), InferenceEvent: schemas.InferenceEvent{EventID: fmt.Sprint("after", p),
			ModelID: Model, ModelVersion: Version, Variant: schemas.VariantProduction,
			EventTime: start.Add(time.Hour + 10*time.Second + time.Duration(p)*time.Second)}})
	}
	return out
}

// Late returns an event at t on no partition in particular, with values
// far from the rest, to revise a window after it went out.
func Late(t time.Time) schemas.InferenceEvent {
	return schemas.InferenceEvent{EventID: "late-" + t.Format(time.RFC3339), ModelID: Model, ModelVersion: Version,
		Variant: schemas.VariantProduction, EventTime: t, LatencyMS: 100, Features: map[string]any{"a": 9.0, "b": 30.0, "c": "q"}}
}

// Config returns the window timing the tests use: windows of size, a
// second of out-of-orderness, no idleness, two hours of retention.
func Config(size time.Duration) window.Config {
	return window.Config{Size: func(string) time.Duration { return size }, OutOfOrderness: time.Second,
		IdleTimeout: time.Hour, Retain: 2 * time.Hour}
}

// Level1 is drift's level 1 over numbered source partitions.
type Level1 struct {
	Engine *window.Level1[*drift.Acc]
	router drift.Router
	offset map[int32]int64
}

// NewLevel1 returns a level 1 with timing cfg measuring against refs.
func NewLevel1(refs *drift.References, cfg window.Config) *Level1 {
	return &Level1{Engine: window.NewLevel1(cfg, drift.NewAcc(refs)), offset: map[int32]int64{}}
}

// Add reads e from its partition at the partition's next offset.
func (l *Level1) Add(e *Event, now time.Time) error {
	b, err := schemas.Marshal(&e.InferenceEvent)
	if err != nil {
		return err
	}
	rec := &kgo.Record{Partition: e.Partition, Offset: l.offset[e.Partition], Value: b}
	l.offset[e.Partition]++
	return l.router.Route(rec, l.Engine, now)
}

// Flush returns the partials and heartbeats level 1 hands over at now, as
// level 2 reads them: of source topic "in" of parts partitions.
func (l *Level1) Flush(now time.Time, parts int32) []schemas.WindowPartial {
	ps, hbs := l.Engine.Flush(now)
	out := make([]schemas.WindowPartial, 0, len(ps)+len(hbs))
	for _, p := range ps {
		wp := p.Envelope("in", parts)
		wp.Family = schemas.FamilyDrift
		p.Acc.Fill(&wp)
		out = append(out, wp)
	}
	for _, h := range hbs {
		out = append(out, h.Envelope(schemas.FamilyDrift, "in", parts))
	}
	return out
}
