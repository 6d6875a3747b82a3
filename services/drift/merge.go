package drift

import (
	"fmt"
	"iter"
	"slices"
	"sort"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/stats"
)

// Merge merges partials into one per reference profile, for what Compute
// reads of them: counts, counters, late events and each of the profile's
// features' sketches. A window's stored state and a longer view's running
// merge shrink to one partial instead of one per source partition and
// window. Partials whose profile is unknown are returned as they are;
// Compute reads only their counters. The groups keep the order of their
// last partial, since Compute takes the profile of the last partial that
// names one.
func (c *Computer) Merge(ps []schemas.WindowPartial) ([]schemas.WindowPartial, error) {
	// An item is a group of partials of one known profile, or one partial
	// of an unknown profile, placed by its last partial.
	type item struct {
		last int
		ps   []*schemas.WindowPartial
	}
	groups := map[string]*item{}
	var items []*item
	for i := range ps {
		p := &ps[i]
		if c.Refs.ByID(p.ReferenceID) == nil {
			items = append(items, &item{last: i, ps: []*schemas.WindowPartial{p}})
			continue
		}
		g := groups[p.ReferenceID]
		if g == nil {
			g = &item{}
			groups[p.ReferenceID] = g
			items = append(items, g)
		}
		g.last = i
		g.ps = append(g.ps, p)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].last < items[j].last })
	out := make([]schemas.WindowPartial, 0, len(items))
	for _, it := range items {
		if c.Refs.ByID(it.ps[0].ReferenceID) == nil {
			out = append(out, *it.ps[0])
			continue
		}
		m, err := c.mergeGroup(it.ps)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (c *Computer) mergeGroup(ps []*schemas.WindowPartial) (schemas.WindowPartial, error) {
	first := ps[0]
	ref := c.Refs.ByID(first.ReferenceID)
	m := schemas.WindowPartial{
		Family: first.Family, ModelID: first.ModelID, ModelVersion: first.ModelVersion, Variant: first.Variant,
		Segment: first.Segment, SourceTopic: first.SourceTopic, SourcePartition: -1, PartitionCount: first.PartitionCount,
		ReferenceID: first.ReferenceID, FirstOffset: -1, LastOffset: -1,
		WindowStart: first.WindowStart, WindowEnd: first.WindowEnd, Watermark: first.Watermark,
		Counters: map[string]float64{},
	}
	for _, p := range ps {
		m.Count += p.Count
		m.LateEvents += p.LateEvents
		for k, v := range p.Counters {
			m.Counters[k] += v
		}
		m.WindowStart = earliest(m.WindowStart, p.WindowStart)
		m.WindowEnd = latest(m.WindowEnd, p.WindowEnd)
		m.Watermark = latest(m.Watermark, p.Watermark)
	}
	m.Features = make([]schemas.FeatureSketch, 0, len(ref.Features))
	for i := range ref.Features {
		fp := &ref.Features[i]
		merged, err := mergeFeature(fp, slices.Values(ps))
		if err != nil {
			return m, err
		}
		m.Features = append(m.Features, merged.State())
	}
	return m, nil
}

// mergeFeature merges the sketches of feature fp in partials ps.
func mergeFeature(fp *schemas.FeatureProfile, ps iter.Seq[*schemas.WindowPartial]) (*stats.Sketch, error) {
	merged := stats.NewSketch(fp)
	for p := range ps {
		for _, fs := range p.Features {
			if fs.Name != fp.Name {
				continue
			}
			s, err := stats.FromState(fp, fs)
			if err != nil {
				return nil, fmt.Errorf("feature %s of partition %d: %w", fp.Name, p.SourcePartition, err)
			}
			if err := merged.Merge(s); err != nil {
				return nil, fmt.Errorf("merge feature %s: %w", fp.Name, err)
			}
		}
	}
	return merged, nil
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
