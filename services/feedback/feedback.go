// Package feedback is the feedback-labeler's logic. Labels arrive hours or
// days after their predictions, so the join happens in ClickHouse, which
// keeps both: level 1 writes every prediction and label there and counts
// predictions per window of prediction time; a window closes once labels
// have been read up to its end plus the label horizon (the longest label
// delay waited for); level 2 then joins the window's predictions with their
// labels by request_id and computes the performance metrics.
package feedback

import (
	"context"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultHorizon is how long after a window the labeler waits for labels.
const DefaultHorizon = time.Hour

// Acc counts one window's predictions at level 1.
type Acc struct{ predictions float64 }

// NewAcc implements the level-1 factory.
func NewAcc(window.Key) *Acc { return &Acc{} }

// Fill implements aggregate.Accumulator.
func (a *Acc) Fill(p *schemas.WindowPartial) {
	p.Count = int64(a.predictions)
	p.Counters = map[string]float64{"predictions": a.predictions}
}

// Router writes predictions and labels to ClickHouse at level 1. Its engine
// must use window.Config.ManualWatermark.
type Router struct {
	Store          store.Store
	Topics         stream.Topics
	Horizon        time.Duration
	OutOfOrderness time.Duration

	preds, labels []store.Row
	// Where each buffered row came from, in the order of preds and labels.
	predAt, labelAt []store.Position
	// What the tables already hold: rows read again after a restart or a
	// rebalance, in other batches, are not inserted twice.
	predProgress, labelProgress store.Progress
	pending                     map[string]map[int32][2]int64 // topic → partition → [first, next) offsets buffered
	done                        stream.Offsets
	maxPred                     map[int32]time.Time
	maxLabel                    map[int32]time.Time
	// The offsets of the records that set maxPred and maxLabel: commits stop
	// there (see Flush).
	maxPredAt, maxLabelAt map[int32]int64
}

func (r *Router) init() {
	if r.pending == nil {
		r.pending, r.done = map[string]map[int32][2]int64{}, stream.Offsets{}
		r.maxPred, r.maxLabel = map[int32]time.Time{}, map[int32]time.Time{}
		r.maxPredAt, r.maxLabelAt = map[int32]int64{}, map[int32]int64{}
	}
	if r.Horizon <= 0 {
		r.Horizon = DefaultHorizon
	}
}

// Route buffers one prediction or label row.
func (r *Router) Route(rec *kgo.Record, eng *window.Level1[*Acc], now time.Time) error {
	r.init()
	switch rec.Topic {
	case r.Topics.Inferences():
		var e schemas.InferenceEvent
		if err := schemas.Unmarshal(rec.Value, &e); err != nil {
			break // counted by the drift-aggregator; never stops the stream
		}
		r.preds = append(r.preds, withSource(PredictionRow(&e), rec))
		r.predAt = append(r.predAt, positionOf(rec))
		k := window.Key{Family: schemas.FamilyPerformance, ModelID: e.ModelID, ModelVersion: e.ModelVersion, Variant: e.Variant}
		if a, ok := eng.Add(rec.Partition, rec.Offset, k, e.EventTime, now); ok {
			a.predictions++
		}
		if e.EventTime.After(r.maxPred[rec.Partition]) {
			r.maxPred[rec.Partition], r.maxPredAt[rec.Partition] = e.EventTime, rec.Offset
		}
	case r.Topics.Labels():
		var l schemas.LabelEvent
		if err := schemas.Unmarshal(rec.Value, &l); err != nil {
			break
		}
		r.labels = append(r.labels, withSource(LabelRow(&l), rec))
		r.labelAt = append(r.labelAt, positionOf(rec))
		if l.LabelTime.After(r.maxLabel[rec.Partition]) {
			r.maxLabel[rec.Partition], r.maxLabelAt[rec.Partition] = l.LabelTime, rec.Offset
		}
	default:
		return nil
	}
	r.track(rec)
	// A window may close when labels have been read up to its end plus the
	// horizon, and its predictions up to its end.
	if pm, lm := r.maxPred[rec.Partition], r.maxLabel[rec.Partition]; !pm.IsZero() && !lm.IsZero() {
		wm := lm.Add(-r.OutOfOrderness - r.Horizon)
		if p := pm.Add(-r.OutOfOrderness); p.Before(wm) {
			wm = p
		}
		eng.Advance(rec.Partition, wm, now)
	}
	return nil
}

func (r *Router) track(rec *kgo.Record) {
	ps := r.pending[rec.Topic]
	if ps == nil {
		ps = map[int32][2]int64{}
		r.pending[rec.Topic] = ps
	}
	rg, ok := ps[rec.Partition]
	if !ok {
		rg[0] = rec.Offset
	}
	rg[1] = rec.Offset + 1
	ps[rec.Partition] = rg
}

// Flush inserts the buffered rows the tables do not hold yet (a retried
// insert of the same records carries the same token and is absorbed), and
// returns the offsets after every record handled, malformed ones included,
// but not past the newest prediction and the newest label of a partition.
// The watermark is made of those two, and a new owner of the partition
// (after a rebalance, a restart) knows it only from records it reads: with
// the labels committed to their end, it would never see a label again once
// the input ended, and the windows waiting for the horizon would never
// close. Reading those records again costs nothing: the tables hold them.
func (r *Router) Flush(ctx context.Context) (stream.Offsets, error) {
	r.init()
	if len(r.pending) > 0 {
		r.predProgress.Table, r.labelProgress.Table = "predictions", "labels"
		if err := r.predProgress.Insert(ctx, r.Store, "predictions", r.preds, r.predAt); err != nil {
			return nil, err
		}
		if err := r.labelProgress.Insert(ctx, r.Store, "labels", r.labels, r.labelAt); err != nil {
			return nil, err
		}
		for t, ps := range r.pending {
			for p, rg := range ps {
				r.done.Set(t, p, rg[1])
			}
		}
		r.preds, r.labels = r.preds[:0], r.labels[:0]
		r.predAt, r.labelAt = r.predAt[:0], r.labelAt[:0]
		r.pending = map[string]map[int32][2]int64{}
	}
	out := stream.Offsets{}
	for t, ps := range r.done {
		held := r.maxLabelAt
		if t == r.Topics.Inferences() {
			held = r.maxPredAt
		}
		for p, o := range ps {
			if at, ok := held[p]; ok && at < o {
				o = at
			}
			out.Set(t, p, o)
		}
	}
	return out, nil
}

// Revoked implements aggregate.Router. The loop flushed just before, so
// nothing of these partitions is buffered; what is left are their offsets
// and clocks, which are the new owner's now.
func (r *Router) Revoked(topic string, ps []int32) {
	r.init()
	for _, p := range ps {
		delete(r.done[topic], p)
		delete(r.pending[topic], p)
		switch topic {
		case r.Topics.Inferences():
			delete(r.maxPred, p)
			delete(r.maxPredAt, p)
			r.predProgress.Forget(topic, p)
		case r.Topics.Labels():
			delete(r.maxLabel, p)
			delete(r.maxLabelAt, p)
			r.labelProgress.Forget(topic, p)
		}
	}
}

// positionOf is where rec stands in its topic.
func positionOf(rec *kgo.Record) store.Position {
	return store.Position{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset}
}

// withSource adds where row came from, for store.Progress.
func withSource(row store.Row, rec *kgo.Record) store.Row {
	row["source_topic"], row["source_partition"], row["source_offset"] = rec.Topic, rec.Partition, rec.Offset
	return row
}

// PredictionRow is the predictions-table row of e.
func PredictionRow(e *schemas.InferenceEvent) store.Row {
	row := store.Row{
		"event_id": e.EventID, "request_id": e.RequestID, "model_id": e.ModelID, "model_version": e.ModelVersion,
		"variant": e.Variant, "event_time": e.EventTime, "latency_ms": e.LatencyMS, "source": e.Source,
		"prediction_class": nil, "prediction_score": nil, "prediction_value": nil, "cost_usd": nil,
	}
	if e.Prediction.Class != nil {
		row["prediction_class"] = *e.Prediction.Class
	}
	if e.Prediction.Score != nil {
		row["prediction_score"] = *e.Prediction.Score
	}
	if e.Prediction.Value != nil {
		row["prediction_value"] = *e.Prediction.Value
	}
	if e.Cost != nil {
		row["cost_usd"] = e.Cost.CostUSD
	}
	if e.Segments != nil {
		row["segments"] = e.Segments
	}
	return row
}

// LabelRow is the labels-table row of l.
func LabelRow(l *schemas.LabelEvent) store.Row {
	row := store.Row{"request_id": l.RequestID, "label_time": l.LabelTime, "source": l.Source, "label_class": nil, "label_value": nil}
	if l.Class != nil {
		row["label_class"] = *l.Class
	}
	if l.Value != nil {
		row["label_value"] = *l.Value
	}
	return row
}
