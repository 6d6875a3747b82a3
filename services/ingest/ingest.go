// Package ingest is the adapter's Kafka side: it reads driftline.raw.<source>
// topics, normalises each record, produces InferenceEvents and LabelEvents
// keyed by request_id (so a request's predictions and label share a
// partition number), and sends what cannot be normalised to the dead-letter
// topic and table with the reason. Offsets are committed only after all of
// that was acknowledged; a bad record never stops its partition.
package ingest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/normalize"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Handler is the adapter's stream.Handler.
type Handler struct {
	Topics   stream.Topics
	Producer *kgo.Client
	Store    store.Store
	// Sources reads each source's records (nil: every source is canonical
	// JSON inferences).
	Sources *normalize.Sources
	Metrics *Metrics
	// Now is the clock of duplicate detection (nil: time.Now).
	Now func() time.Time

	dedup  map[string]*normalize.Dedup // by source, for those that detect duplicates
	out    []*kgo.Record
	dead   []store.Row
	deadAt []store.Position // where each dead letter came from
	// What the dead-letter table holds: after an aborted transaction or on
	// a new owner of a partition, records come again in other batches,
	// with other insert tokens.
	progress store.Progress
	next     stream.Offsets
}

// Metrics counts what the adapter did.
type Metrics struct {
	In         *prometheus.CounterVec // by source
	Out        *prometheus.CounterVec // by kind
	DeadLetter *prometheus.CounterVec // by source, reason
}

// NewMetrics registers the adapter's counters.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		In:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftline_adapter_records_in_total", Help: "Raw records read, by source."}, []string{"source"}),
		Out:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftline_adapter_records_out_total", Help: "Canonical events produced, by kind."}, []string{"kind"}),
		DeadLetter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "driftline_deadletters_total", Help: "Records sent to the dead-letter topic, by source and reason."}, []string{"source", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.In, m.Out, m.DeadLetter)
	}
	return m
}

// Handle normalises every record of a poll.
func (h *Handler) Handle(ctx context.Context, fs kgo.Fetches) error {
	if h.next == nil {
		h.next = stream.Offsets{}
	}
	if h.Metrics == nil {
		h.Metrics = NewMetrics(nil)
	}
	if h.Sources == nil {
		var err error
		if h.Sources, err = normalize.NewSources(normalize.FileConfig{}, normalize.SourcesOptions{}); err != nil {
			return err
		}
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	var err error
	fs.EachRecord(func(r *kgo.Record) {
		if err == nil {
			err = h.record(r)
		}
	})
	return err
}

func (h *Handler) record(r *kgo.Record) error {
	source := h.Topics.Source(r.Topic)
	h.next.Set(r.Topic, r.Partition, r.Offset+1)
	h.Metrics.In.WithLabelValues(source).Inc()
	src := h.Sources.Lookup(source)
	events, err := src.Decode(r.Value, header(r, "content-type"))
	if err != nil {
		if normalize.ClassOf(err) == "internal" {
			// Not the record's fault (a schema registry down): stop
			// without committing, so the record is read again later
			// instead of dead-lettered.
			return fmt.Errorf("source %s: %s[%d]@%d: %w", source, r.Topic, r.Partition, r.Offset, err)
		}
		return h.deadLetter(r, source, normalize.StageDecode, normalize.ClassOf(err), err.Error())
	}
	if src.Dedup.Enabled() {
		d := h.dedup[source]
		if d == nil {
			if h.dedup == nil {
				h.dedup = map[string]*normalize.Dedup{}
			}
			d = normalize.NewDedup(src.Dedup)
			h.dedup[source] = d
		}
		if f := d.CheckDuplicates(events, r.Partition, r.Offset, h.Now()); f != nil {
			return h.deadLetter(r, source, normalize.StageDedup, f.Class, f.Error())
		}
	}
	// Encode all first: a record's events go out together or not at all.
	outs := make([]*kgo.Record, 0, len(events))
	for _, ev := range events {
		var out *kgo.Record
		switch {
		case ev.Inference != nil:
			out, err = stream.Record(h.Topics.Inferences(), ev.Inference.RequestID, ev.Inference)
		case ev.Label != nil:
			out, err = stream.Record(h.Topics.Labels(), ev.Label.RequestID, ev.Label)
		}
		if err != nil {
			return h.deadLetter(r, source, "encode", "encode", err.Error())
		}
		outs = append(outs, out)
	}
	// Counted only once they are sure to go out: a record is either
	// outputs or a dead letter, never both.
	for _, ev := range events {
		kind := normalize.KindInference
		if ev.Label != nil {
			kind = normalize.KindLabel
		}
		h.Metrics.Out.WithLabelValues(kind).Inc()
	}
	h.out = append(h.out, outs...)
	return nil
}

// header returns the value of a record's header key (case-insensitive), or "".
func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Key, key) {
			return string(h.Value)
		}
	}
	return ""
}

func (h *Handler) deadLetter(r *kgo.Record, source, stage, class, msg string) error {
	h.Metrics.DeadLetter.WithLabelValues(source, class).Inc()
	dl := NewDeadLetter(r, stage, class, msg, time.Now())
	rec, err := stream.Record(h.Topics.DeadLetter(), r.Topic, &dl)
	if err != nil {
		return err
	}
	h.out = append(h.out, rec)
	h.dead = append(h.dead, DeadLetterRow(&dl))
	h.deadAt = append(h.deadAt, store.Position{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset})
	return nil
}

// Flush produces the buffered events and dead letters, inserts the dead
// letters, and returns the offsets after the records handled.
func (h *Handler) Flush(ctx context.Context, _ time.Time) (stream.Offsets, error) {
	if err := stream.ProduceSync(ctx, h.Producer, h.out...); err != nil {
		return nil, err
	}
	h.out = h.out[:0]
	if len(h.dead) > 0 {
		h.progress.Table = "deadletters"
		if err := h.progress.Insert(ctx, h.Store, "deadletters", h.dead, h.deadAt); err != nil {
			return nil, fmt.Errorf("dead letters: %w", err)
		}
		h.dead, h.deadAt = h.dead[:0], h.deadAt[:0]
	}
	offs := h.next
	h.next = stream.Offsets{}
	return offs, nil
}

// Revoked keeps the duplicate sets: they are per adapter instance, and a
// record redelivered at the position it was first seen at is not a
// duplicate of itself (see normalize.Dedup). What the dead-letter table
// holds of the partitions is asked again when they come back.
func (h *Handler) Revoked(topic string, partitions []int32) {
	h.progress.Forget(topic, partitions...)
}

// NewDeadLetter describes a record that could not be processed.
func NewDeadLetter(r *kgo.Record, stage, class, msg string, now time.Time) schemas.DeadLetter {
	dl := schemas.DeadLetter{
		Original: r.Value, SourceTopic: r.Topic, SourcePartition: r.Partition, SourceOffset: r.Offset,
		Stage: stage, ErrorClass: class, ErrorMessage: msg, ReceivedAt: now.UTC(),
	}
	if len(r.Headers) > 0 {
		dl.Headers = make(map[string]string, len(r.Headers))
		for _, hd := range r.Headers {
			dl.Headers[hd.Key] = string(hd.Value)
		}
	}
	return dl
}

// DeadLetterRow is the deadletters-table row of dl.
func DeadLetterRow(dl *schemas.DeadLetter) store.Row {
	row := store.Row{
		"received_at": dl.ReceivedAt, "source_topic": dl.SourceTopic, "source_partition": dl.SourcePartition,
		"source_offset": dl.SourceOffset, "stage": dl.Stage, "error_class": dl.ErrorClass,
		"error_message": dl.ErrorMessage, "original": dl.Original,
	}
	if dl.Headers != nil {
		row["headers"] = dl.Headers
	}
	return row
}
