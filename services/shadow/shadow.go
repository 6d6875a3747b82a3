// Package shadow is the shadow-evaluator's logic: it pairs each production
// prediction with the shadow, canary and challenger predictions of the same
// request (same request_id, so the same partition of driftline.inferences)
// and measures per window how often they agree and how their scores and
// latencies differ.
package shadow

import (
	"context"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultHorizon is how long (event time) a prediction waits for its pair.
const DefaultHorizon = time.Minute

// Acc counts one window's pairs of one shadow variant.
type Acc struct {
	pairs, agree, scored, scoreDelta, latencyDelta float64
}

// NewAcc implements the level-1 factory.
func NewAcc(window.Key) *Acc { return &Acc{} }

// Fill implements aggregate.Accumulator.
func (a *Acc) Fill(p *schemas.WindowPartial) {
	p.Count = int64(a.pairs)
	p.Counters = map[string]float64{"pairs": a.pairs, "agree": a.agree, "scored": a.scored,
		"score_delta_sum": a.scoreDelta, "latency_delta_sum": a.latencyDelta}
}

type pending struct {
	prod   *schemas.InferenceEvent
	others []*schemas.InferenceEvent
	// variants already routed: a request has one prediction per variant,
	// and one delivered again (the adapter is at-least-once) must not be
	// paired twice.
	variants map[string]bool
	offset   int64 // the request's first record
	expires  time.Time
}

// Router pairs predictions at level 1.
//
// Its engine must use window.Config.ManualWatermark: a window may still get
// pairs until the horizon has passed, so the watermark lags the newest
// event by the out-of-orderness plus the horizon.
type Router struct {
	Horizon        time.Duration
	OutOfOrderness time.Duration
	Topic          string // the inferences topic

	parts map[int32]map[string]*pending
	max   map[int32]time.Time
}

// Route buffers a prediction until its counterpart arrives.
func (r *Router) Route(rec *kgo.Record, eng *window.Level1[*Acc], now time.Time) error {
	var e schemas.InferenceEvent
	if err := schemas.Unmarshal(rec.Value, &e); err != nil {
		return nil // counted by the drift-aggregator; never stops the stream
	}
	if r.parts == nil {
		r.parts, r.max = map[int32]map[string]*pending{}, map[int32]time.Time{}
	}
	if r.Horizon <= 0 {
		r.Horizon = DefaultHorizon
	}
	reqs := r.parts[rec.Partition]
	if reqs == nil {
		reqs = map[string]*pending{}
		r.parts[rec.Partition] = reqs
	}
	p := reqs[e.RequestID]
	if p == nil {
		p = &pending{offset: rec.Offset, expires: e.EventTime.Add(r.Horizon), variants: map[string]bool{}}
		reqs[e.RequestID] = p
	}
	switch {
	case p.variants[e.Variant]:
		// A redelivery: already paired or waiting.
	case e.Variant == schemas.VariantProduction:
		p.prod = &e
		for _, o := range p.others {
			r.pair(rec.Partition, p.offset, eng, p.prod, o, now)
		}
		p.others = nil
	case p.prod != nil:
		r.pair(rec.Partition, p.offset, eng, p.prod, &e, now)
	default:
		p.others = append(p.others, &e)
	}
	p.variants[e.Variant] = true
	eng.Advance(rec.Partition, e.EventTime.Add(-r.OutOfOrderness-r.Horizon), now)
	if e.EventTime.After(r.max[rec.Partition]) {
		r.max[rec.Partition] = e.EventTime
	}
	// Expire requests whose pair can no longer come.
	for id, q := range reqs {
		if q.expires.Before(r.max[rec.Partition]) {
			delete(reqs, id)
		}
	}
	return nil
}

func (r *Router) pair(part int32, offset int64, eng *window.Level1[*Acc], prod, other *schemas.InferenceEvent, now time.Time) {
	k := window.Key{Family: schemas.FamilyShadow, ModelID: prod.ModelID, ModelVersion: prod.ModelVersion, Variant: other.Variant}
	a, ok := eng.Add(part, offset, k, prod.EventTime, now)
	if !ok {
		return
	}
	a.pairs++
	if Agree(prod.Prediction, other.Prediction) {
		a.agree++
	}
	if prod.Prediction.Score != nil && other.Prediction.Score != nil {
		a.scored++
		a.scoreDelta += *other.Prediction.Score - *prod.Prediction.Score
	}
	a.latencyDelta += other.LatencyMS - prod.LatencyMS
}

// Agree reports whether two predictions agree: same class when both name
// one, else the same most probable class for multi-class probabilities,
// else the same side of 0.5 for scores, else values within 1e-9.
func Agree(a, b schemas.Prediction) bool {
	switch {
	case a.Class != nil && b.Class != nil:
		return *a.Class == *b.Class
	case len(a.Probabilities) > 0 && len(b.Probabilities) > 0:
		return topClass(a.Probabilities) == topClass(b.Probabilities)
	case a.Score != nil && b.Score != nil:
		return (*a.Score >= 0.5) == (*b.Score >= 0.5)
	case a.Value != nil && b.Value != nil:
		d := *a.Value - *b.Value
		return d < 1e-9 && d > -1e-9
	}
	return false
}

// topClass is the most probable class; ties go to the smallest name, so
// the answer does not depend on map order.
func topClass(p map[string]float64) string {
	best, bp := "", -1.0
	for c, v := range p {
		if v > bp || v == bp && c < best {
			best, bp = c, v
		}
	}
	return best
}

// Flush implements aggregate.Router: a request still waiting for its pair
// holds its first record's offset.
func (r *Router) Flush(context.Context) (stream.Offsets, error) {
	offs := stream.Offsets{}
	for part, reqs := range r.parts {
		min := int64(-1)
		for _, q := range reqs {
			if min < 0 || q.offset < min {
				min = q.offset
			}
		}
		if min >= 0 {
			offs.Set(r.Topic, part, min)
		}
	}
	return offs, nil
}

// Revoked implements aggregate.Router: requests waiting on a partition
// that moved away are the new owner's, replayed from the held offset.
func (r *Router) Revoked(topic string, ps []int32) {
	if topic != r.Topic {
		return
	}
	for _, p := range ps {
		delete(r.parts, p)
		delete(r.max, p)
	}
}

// Computer computes the shadow metrics of a finished window.
type Computer struct{}

// Compute implements aggregate.Computer.
func (Computer) Compute(_ context.Context, f window.Final) ([]schemas.MetricWindow, error) {
	var pairs, agree, scored, scoreDelta, latencyDelta float64
	for _, p := range f.Partials {
		pairs += p.Counters["pairs"]
		agree += p.Counters["agree"]
		scored += p.Counters["scored"]
		scoreDelta += p.Counters["score_delta_sum"]
		latencyDelta += p.Counters["latency_delta_sum"]
	}
	base := schemas.MetricWindow{ModelID: f.Key.ModelID, ModelVersion: f.Key.ModelVersion, Variant: f.Key.Variant,
		Segment: f.Key.Segment, WindowStart: f.Key.Start, WindowEnd: f.Key.End, Family: schemas.FamilyShadow, SampleCount: int64(pairs)}
	mk := func(name string, v float64) schemas.MetricWindow {
		m := base
		m.Metric, m.Value = name, v
		return m
	}
	out := []schemas.MetricWindow{mk("pairs", pairs)}
	if pairs > 0 {
		out = append(out, mk("agreement_rate", agree/pairs), mk("latency_delta_ms_mean", latencyDelta/pairs))
	}
	if scored > 0 {
		out = append(out, mk("score_delta_mean", scoreDelta/scored))
	}
	return out, nil
}
