// Package drift is the drift-aggregator's logic: level 1 sketches every
// feature of every inference per window against the model's reference
// profile; level 2 merges the sketches of all partitions and computes the
// drift, quality and ops statistics of each finished window.
//
// Besides each statistic (stats.Drift: drift statistics in family drift,
// with p50/p95/p99 of numeric features; missing and type-mismatch share,
// out-of-range share and constant in family quality), every feature gets a
// drift_score row: the value, threshold and verdict of the feature's test,
// by default chosen as Evidently does (by kind, cardinality and reference
// size), or Computer.Tests' override.
package drift

import (
	"context"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/stats"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DatasetDriftThreshold is the share of drifted features at which the
// dataset counts as drifted (Evidently's default).
const DatasetDriftThreshold = 0.5

// Acc is one window's sketches at level 1.
type Acc struct {
	ref        *schemas.ReferenceProfile
	count      int64
	latencySum float64
	sketches   []*stats.Sketch // aligned with ref.Features
	// names are the feature names of the last event added, in its order,
	// and pos the index there of each reference feature (-1: absent). The
	// events of one model carry the same names in the same order (Marshal
	// sorts them), so comparing the names, interned by the decoder,
	// replaces a map lookup per reference feature and event.
	names []string
	pos   []int
	known bool // names and pos describe an event
}

// maxCachedNames bounds the names an Acc remembers: a hostile event with
// more features is looked up without being remembered.
const maxCachedNames = 4096

// NewAcc returns the accumulator factory for level 1: each window sketches
// against the profile current when it opened.
func NewAcc(refs *References) func(window.Key) *Acc {
	return func(k window.Key) *Acc {
		a := &Acc{ref: refs.For(k.ModelID, k.ModelVersion)}
		if a.ref != nil {
			a.sketches = make([]*stats.Sketch, len(a.ref.Features))
			for i := range a.ref.Features {
				a.sketches[i] = stats.NewSketch(&a.ref.Features[i])
			}
		}
		return a
	}
}

// add adds an event with its features in the map; addFeatures is the same
// for a decoded list, which Route uses.
func (a *Acc) add(e *schemas.InferenceEvent) {
	a.count++
	a.latencySum += e.LatencyMS
	if a.ref == nil {
		return
	}
	for i := range a.ref.Features {
		a.sketches[i].Add(e.Features[a.ref.Features[i].Name])
	}
}

// addFeatures adds an event whose features are feats (e.Features unused),
// as schemas.UnmarshalFeatures decodes them: names are unique.
func (a *Acc) addFeatures(e *schemas.InferenceEvent, feats []schemas.Feature) {
	a.count++
	a.latencySum += e.LatencyMS
	if a.ref == nil {
		return
	}
	for i, j := range a.positions(feats) {
		if j < 0 {
			a.sketches[i].Add(nil) // missing
		} else {
			a.sketches[i].AddFeature(&feats[j])
		}
	}
}

// positions returns the index in feats of each reference feature, -1 for
// those feats lacks.
func (a *Acc) positions(feats []schemas.Feature) []int {
	if a.known && len(feats) == len(a.names) {
		same := true
		for i := range feats {
			if feats[i].Name != a.names[i] {
				same = false
				break
			}
		}
		if same {
			return a.pos
		}
	}
	if a.pos == nil {
		a.pos = make([]int, len(a.ref.Features))
	}
	var index map[string]int
	if len(feats) > 16 {
		index = make(map[string]int, len(feats))
		for j := range feats {
			index[feats[j].Name] = j
		}
	}
	for i := range a.ref.Features {
		name := a.ref.Features[i].Name
		a.pos[i] = -1
		if index != nil {
			if j, ok := index[name]; ok {
				a.pos[i] = j
			}
			continue
		}
		for j := range feats {
			if feats[j].Name == name {
				a.pos[i] = j
				break
			}
		}
	}
	a.names, a.known = a.names[:0], len(feats) <= maxCachedNames
	if !a.known {
		a.names = nil // not remembered: the next event rebuilds pos
		return a.pos
	}
	for j := range feats {
		a.names = append(a.names, feats[j].Name)
	}
	return a.pos
}

// Fill implements aggregate.Accumulator.
func (a *Acc) Fill(p *schemas.WindowPartial) {
	p.Count = a.count
	p.Counters = map[string]float64{"events": float64(a.count), "latency_ms_sum": a.latencySum}
	if a.ref == nil {
		return
	}
	p.ReferenceID = a.ref.ReferenceID
	p.Features = make([]schemas.FeatureSketch, len(a.sketches))
	for i, s := range a.sketches {
		p.Features[i] = s.State()
	}
}

// Router is the level-1 side: it reads canonical inferences.
type Router struct {
	// Undecodable counts inference records that did not decode; the adapter
	// writes that topic, so any is a bug, but it must not stop the stream.
	Undecodable int64

	// The event and feature list the records decode into, reused: one
	// loop goroutine routes at a time.
	ev    schemas.InferenceEvent
	feats []schemas.Feature
}

// Route adds one inference to its window.
func (r *Router) Route(rec *kgo.Record, eng *window.Level1[*Acc], now time.Time) error {
	feats, err := schemas.UnmarshalFeatures(rec.Value, &r.ev, r.feats)
	if cap(feats) <= maxCachedNames {
		r.feats = feats
	} else {
		r.feats = nil // a hostile event's list is not kept
	}
	if err != nil {
		r.Undecodable++
		return nil
	}
	e := &r.ev
	k := window.Key{Family: schemas.FamilyDrift, ModelID: e.ModelID, ModelVersion: e.ModelVersion, Variant: e.Variant}
	if a, ok := eng.Add(rec.Partition, rec.Offset, k, e.EventTime, now); ok {
		a.addFeatures(e, feats)
	}
	return nil
}

// Flush implements aggregate.Router: only open windows hold records.
func (r *Router) Flush(context.Context) (stream.Offsets, error) { return nil, nil }

// Revoked implements aggregate.Router: the router keeps no partition state.
func (r *Router) Revoked(string, []int32) {}

// Computer is the level-2 side.
type Computer struct {
	Refs *References
	// Tests overrides the default test of features by name (stats.DriftTest,
	// the drift-aggregator's drift_tests); an override that does not apply
	// to a feature's kind is ignored, and the default test decides.
	Tests stats.Overrides
}

// Compute merges the partials of a finished window and compares each
// feature with the reference.
func (c *Computer) Compute(_ context.Context, f window.Final) ([]schemas.MetricWindow, error) {
	base := schemas.MetricWindow{
		ModelID: f.Key.ModelID, ModelVersion: f.Key.ModelVersion, Variant: f.Key.Variant, Segment: f.Key.Segment,
		WindowStart: f.Key.Start, WindowEnd: f.Key.End,
	}
	var events, latency float64
	var late int64
	refID := ""
	for _, p := range f.Partials {
		events += p.Counters["events"]
		latency += p.Counters["latency_ms_sum"]
		late += p.LateEvents
		if p.ReferenceID != "" {
			refID = p.ReferenceID // partials of one window share the profile unless it changed mid-window; the newest wins
		}
	}
	out := []schemas.MetricWindow{
		metric(base, schemas.FamilyOps, "", "event_count", events, int64(events)),
		metric(base, schemas.FamilyOps, "", "late_events", float64(late), int64(events)),
	}
	if events > 0 {
		out = append(out, metric(base, schemas.FamilyOps, "", "latency_ms_mean", latency/events, int64(events)))
	}
	ref := c.Refs.ByID(refID)
	if ref == nil {
		return out, nil
	}
	base.ReferenceID = ref.ReferenceID
	base.ReferenceCount = ref.RowCount
	var verdicts []bool
	for i := range ref.Features {
		fp := &ref.Features[i]
		merged, err := mergeFeature(fp, func(yield func(*schemas.WindowPartial) bool) {
			for i := range f.Partials {
				if f.Partials[i].ReferenceID == ref.ReferenceID && !yield(&f.Partials[i]) {
					return
				}
			}
		})
		if err != nil {
			return nil, err
		}
		st := merged.State()
		n := st.Count + st.Missing
		t, _ := c.Tests.For(fp.Name)
		results, err := stats.DriftTest(fp, merged, t)
		if err != nil {
			results = stats.Drift(fp, merged)
		}
		for _, r := range results {
			family := schemas.FamilyDrift
			if stats.QualityMetric(r.Metric) {
				family = schemas.FamilyQuality
			}
			m := metric(base, family, fp.Name, r.Metric, r.Value, n)
			m.Threshold, m.PValue, m.Detected = r.Threshold, r.PValue, r.Detected
			out = append(out, m)
			if r.Verdict {
				// drift_score repeats the default test's result under one
				// name, so policies and queries need not know which test
				// a feature's kind and the reference size chose.
				v := m
				v.Metric = "drift_score"
				out = append(out, v)
				verdicts = append(verdicts, r.Detected)
			}
		}
	}
	if len(verdicts) > 0 {
		share, detected := stats.DatasetDrift(verdicts, DatasetDriftThreshold)
		th := DatasetDriftThreshold
		m := metric(base, schemas.FamilyDrift, "", "dataset_drift_share", share, int64(events))
		m.Threshold, m.Detected = &th, detected
		out = append(out, m)
	}
	return out, nil
}

func metric(base schemas.MetricWindow, family, feature, name string, v float64, n int64) schemas.MetricWindow {
	m := base
	m.Family, m.Feature, m.Metric, m.Value, m.SampleCount = family, feature, name, v, n
	return m
}
