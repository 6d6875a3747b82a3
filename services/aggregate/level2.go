package aggregate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Computer turns a finished window into metrics.
type Computer interface {
	Compute(ctx context.Context, f window.Final) ([]schemas.MetricWindow, error)
}

// Level2 is a stream.Handler over the partials topic for one family.
type Level2 struct {
	Engine   *window.Level2
	Computer Computer
	Producer *kgo.Client
	Store    store.Store
	Topics   stream.Topics
	// OnMetrics, if set, sees every metric written (for progress output).
	OnMetrics func([]schemas.MetricWindow)
	// OnViews, if set, sees every view metric written.
	OnViews func([]schemas.MetricWindow)
	// Metrics, if set, count the windows and views written.
	Metrics *Metrics

	parts map[int32]bool
	// queued are the view instances ready to compute, oldest first; each
	// Flush computes some (see viewBudget).
	queued  []window.ViewKey
	inQueue map[window.ViewKey]bool
}

// Views are computed after the windows of a flush and share its loop: a
// window that closes while views are computed waits for them. A Flush
// therefore spends at most about viewBudget on views, viewBatch at a time
// (views of the same bounds are read in one query), and leaves the rest
// for the next; at least one batch, so that they keep up.
const (
	viewBudget = 50 * time.Millisecond
	viewBatch  = 16
)

// Handle feeds partials to the engine. A record that does not decode is a
// bug in a Driftline service, not bad user input, so it stops the loop.
func (l *Level2) Handle(ctx context.Context, fs kgo.Fetches) error {
	if l.parts == nil {
		l.parts = make(map[int32]bool)
	}
	var err error
	now := time.Now()
	fs.EachRecord(func(r *kgo.Record) {
		if err != nil {
			return
		}
		var p schemas.WindowPartial
		if e := schemas.Unmarshal(r.Value, &p); e != nil {
			err = fmt.Errorf("decode partial %s[%d]@%d: %w", r.Topic, r.Partition, r.Offset, e)
			return
		}
		l.parts[r.Partition] = true
		l.Engine.Add(r.Partition, r.Offset, p, now)
	})
	return err
}

// Flush computes the finished windows, stores their state, writes their
// metrics to ClickHouse (deduplicated by window and revision) and to the
// metrics topic, computes the longer views they complete or revise, and
// only then lets their partials be committed.
func (l *Level2) Flush(ctx context.Context, now time.Time) (stream.Offsets, error) {
	finals := l.Engine.Ready(now)
	var all []schemas.MetricWindow
	for _, f := range finals {
		ms, err := l.Computer.Compute(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("compute window %s %s %s: %w", f.Key.Family, f.Key.ModelID, f.Key.Start.Format(time.RFC3339), err)
		}
		for i := range ms {
			ms[i].ComputedAt = now.UTC()
			ms[i].Revision = f.Revision
		}
		all = append(all, ms...)
	}
	// States go first: a view reads them, and a crash before the metrics
	// replays the windows, whose states then go in again under the same
	// token.
	merger, _ := l.Computer.(Merger)
	if err := WriteStates(ctx, l.Store, finals, now, merger); err != nil {
		return nil, err
	}
	if len(all) > 0 {
		if err := WriteMetrics(ctx, l.Store, l.Producer, l.Topics, all); err != nil {
			return nil, err
		}
		if l.OnMetrics != nil {
			l.OnMetrics(all)
		}
	}
	for _, f := range finals {
		l.Metrics.windowWritten(f.Key.End, now)
	}
	if err := l.flushViews(ctx, now); err != nil {
		return nil, err
	}
	offs := stream.Offsets{}
	for p := range l.parts {
		if o := l.Engine.Committable(p); o >= 0 {
			offs.Set(l.Topics.Partials(), p, o)
		}
	}
	return offs, nil
}

// flushViews queues the view instances the engine found ready and
// computes queued ones from the stored states of their windows, writing
// each batch's metrics in one insert (each insert is a part for ClickHouse
// to merge). Queued views are not in any commit: after a crash the
// windows they were waiting on are read again (level 2 commits before the
// first partial of every window it keeps, and a view is ready when its
// last window finishes) and touch them again.
func (l *Level2) flushViews(ctx context.Context, now time.Time) error {
	if l.inQueue == nil {
		l.inQueue = make(map[window.ViewKey]bool)
	}
	for _, k := range l.Engine.Views(now) {
		if !l.inQueue[k] {
			l.inQueue[k] = true
			l.queued = append(l.queued, k)
		}
	}
	began := time.Now()
	for len(l.queued) > 0 {
		n := min(len(l.queued), viewBatch)
		written, err := l.computeViews(ctx, l.queued[:n], now)
		if err != nil {
			return err
		}
		for _, k := range l.queued[:n] {
			delete(l.inQueue, k)
		}
		l.queued = l.queued[n:]
		l.Metrics.viewsComputed(written, len(l.queued))
		if time.Since(began) >= viewBudget {
			break
		}
	}
	if len(l.queued) == 0 {
		l.queued = nil // let the backing array go
	}
	return nil
}

// computeViews computes and writes the views of keys and returns how many
// it wrote (those with a window stored).
func (l *Level2) computeViews(ctx context.Context, keys []window.ViewKey, now time.Time) (int, error) {
	merger, _ := l.Computer.(Merger)
	views, err := LoadViews(ctx, l.Store, keys, merger)
	if err != nil {
		return 0, fmt.Errorf("%d views: %w", len(keys), err)
	}
	var out []ViewMetrics
	for _, v := range views {
		if v.Windows == 0 {
			continue
		}
		k := v.Key
		ms, err := l.Computer.Compute(ctx, v.Final)
		if err != nil {
			return 0, fmt.Errorf("compute view %s %s %s-%s: %w", k.Family, k.ModelID, k.Start.Format(time.RFC3339), k.End.Format(time.RFC3339), err)
		}
		for i := range ms {
			ms[i].ComputedAt = now.UTC()
			ms[i].Revision = v.Revision
		}
		out = append(out, ViewMetrics{View: v, Metrics: ms})
	}
	if err := WriteViewMetrics(ctx, l.Store, out); err != nil {
		return 0, err
	}
	if l.OnViews != nil {
		for _, v := range out {
			l.OnViews(v.Metrics)
		}
	}
	return len(out), nil
}

// Revoked needs nothing: level 2 keeps every partial it has read, and a new
// owner of a partials partition replays it from the committed offset.
func (l *Level2) Revoked(string, []int32) {}

// WriteMetrics inserts metric rows with a token derived from their windows
// (start and end: windows of another size that start together are other
// rows), revisions and values, so a retry after a failure is absorbed,
// then produces them to the metrics topic keyed by model. The values are
// in the token because a window computed again under the same revision
// may have other values: the labeler's join, replayed after a restart,
// reads the labels stored by then. Those rows must land, and
// metrics_latest takes the newest computed_at among equal revisions.
func WriteMetrics(ctx context.Context, st store.Store, pr *kgo.Client, t stream.Topics, ms []schemas.MetricWindow) error {
	h := sha256.New()
	rows := make([]store.Row, 0, len(ms))
	rs := make([]*kgo.Record, 0, len(ms))
	for i := range ms {
		m := &ms[i]
		hashMetric(h, m)
		rows = append(rows, MetricRow(m))
		r, err := stream.Record(t.Metrics(), m.ModelID, m)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	token := "metrics-" + hex.EncodeToString(h.Sum(nil))
	if err := st.Insert(ctx, "metrics", token, rows); err != nil {
		return fmt.Errorf("insert %d metrics: %w", len(rows), err)
	}
	return stream.ProduceSync(ctx, pr, rs...)
}

// hashMetric writes what identifies a metric row's insert to h: its
// window, series and name, revision and values.
func hashMetric(h io.Writer, m *schemas.MetricWindow) {
	opt := func(x *float64) string {
		if x == nil {
			return "-"
		}
		return strconv.FormatUint(math.Float64bits(*x), 16)
	}
	fmt.Fprintf(h, "%s|%s|%s|%s|%s|%d|%d|%s|%s|%s|%d|%x|%s|%s|%t|%d\n", m.ModelID, m.ModelVersion, m.Variant, m.Segment,
		m.Family, m.WindowStart.UnixMilli(), m.WindowEnd.UnixMilli(), m.Feature, m.Metric, m.ReferenceID, m.Revision,
		math.Float64bits(m.Value), opt(m.Threshold), opt(m.PValue), m.Detected, m.SampleCount)
}

// MetricRow is the metrics-table row of m.
func MetricRow(m *schemas.MetricWindow) store.Row {
	row := store.Row{
		"model_id": m.ModelID, "model_version": m.ModelVersion, "variant": m.Variant, "segment": m.Segment,
		"window_start": m.WindowStart, "window_end": m.WindowEnd, "family": m.Family, "feature": m.Feature,
		"metric": m.Metric, "value": m.Value, "detected": m.Detected,
		"sample_count": uint64(max(m.SampleCount, 0)), "reference_count": uint64(max(m.ReferenceCount, 0)),
		"reference_id": m.ReferenceID, "computed_at": m.ComputedAt, "revision": uint32(max(m.Revision, 0)),
		"threshold": nil, "p_value": nil,
	}
	if m.Threshold != nil {
		row["threshold"] = *m.Threshold
	}
	if m.PValue != nil {
		row["p_value"] = *m.PValue
	}
	return row
}
