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

	// byTopic caches what every record of a raw topic needs, so that a
	// record costs one map lookup instead of a source lookup (under a
	// lock for sources the file does not name) and a labelled counter's.
	byTopic map[string]*sourceState
	dedup   map[string]*normalize.Dedup // by source, for those that detect duplicates
	// scratch holds the events of the record being handled: they are
	// encoded before the next record is read, so their maps are reused.
	scratch normalize.Scratch
	alloc   recordAlloc
	// The canonical topics' names and the output counters, built once.
	inferences, labels      string
	outInference, outLabels prometheus.Counter

	out    []*kgo.Record
	dead   []store.Row
	deadAt []store.Position // where each dead letter came from
	// What the dead-letter table holds: after an aborted transaction or on
	// a new owner of a partition, records come again in other batches,
	// with other insert tokens.
	progress store.Progress
	next     stream.Offsets
}

// sourceState is one raw topic's source and what goes with it.
type sourceState struct {
	name  string
	src   *normalize.Source
	in    prometheus.Counter
	dedup *normalize.Dedup // nil: the source does not detect duplicates
}

// recordAlloc hands out the output records from blocks: a record, its key
// and its value would otherwise be three allocations per event. A block
// is never reused, only dropped, so a record in flight keeps its bytes.
type recordAlloc struct {
	recs []kgo.Record
	buf  []byte
}

const (
	recordBlock = 64       // records per block
	bytesBlock  = 64 << 10 // key and value bytes per block
)

// record is stream.Record with the memory from the blocks.
func (a *recordAlloc) record(topic, key string, v any) (*kgo.Record, error) {
	const minRoom = 512 // left for the value after the key, or a new block
	if cap(a.buf)-len(a.buf) < len(key)+minRoom {
		a.buf = make([]byte, 0, max(bytesBlock, len(key)+minRoom))
	}
	n := len(a.buf)
	a.buf = append(a.buf, key...)
	room := a.buf[len(a.buf):len(a.buf):cap(a.buf)]
	val, err := schemas.AppendMarshal(room, v)
	if err != nil {
		return nil, fmt.Errorf("encode %T for %s: %w", v, topic, err)
	}
	if cap(val) == cap(room) {
		a.buf = a.buf[:len(a.buf)+len(val)] // it fit in the block
	} // else append gave a larger value an array of its own
	if len(a.recs) == cap(a.recs) {
		a.recs = make([]kgo.Record, 0, recordBlock)
	}
	a.recs = append(a.recs, kgo.Record{Topic: topic, Value: val[:len(val):len(val)]})
	r := &a.recs[len(a.recs)-1]
	if key != "" {
		r.Key = a.buf[n : n+len(key) : n+len(key)]
	}
	return r, nil
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
	if h.byTopic == nil {
		h.byTopic = map[string]*sourceState{}
		h.inferences, h.labels = h.Topics.Inferences(), h.Topics.Labels()
		h.outInference = h.Metrics.Out.WithLabelValues(normalize.KindInference)
		h.outLabels = h.Metrics.Out.WithLabelValues(normalize.KindLabel)
	}
	var err error
	fs.EachRecord(func(r *kgo.Record) {
		if err == nil {
			err = h.record(r)
		}
	})
	return err
}

// sourceOf returns the state of a raw topic's source.
func (h *Handler) sourceOf(topic string) *sourceState {
	if st := h.byTopic[topic]; st != nil {
		return st
	}
	name := h.Topics.Source(topic)
	st := &sourceState{name: name, src: h.Sources.Lookup(name), in: h.Metrics.In.WithLabelValues(name)}
	if st.src.Dedup.Enabled() {
		if st.dedup = h.dedup[name]; st.dedup == nil {
			if h.dedup == nil {
				h.dedup = map[string]*normalize.Dedup{}
			}
			st.dedup = normalize.NewDedup(st.src.Dedup)
			h.dedup[name] = st.dedup
		}
	}
	h.byTopic[topic] = st
	return st
}

func (h *Handler) record(r *kgo.Record) error {
	st := h.sourceOf(r.Topic)
	source, src := st.name, st.src
	h.next.Set(r.Topic, r.Partition, r.Offset+1)
	st.in.Inc()
	events, err := src.DecodeInto(r.Value, header(r, "content-type"), &h.scratch)
	if err != nil {
		if normalize.ClassOf(err) == "internal" {
			// Not the record's fault (a schema registry down): stop
			// without committing, so the record is read again later
			// instead of dead-lettered.
			return fmt.Errorf("source %s: %s[%d]@%d: %w", source, r.Topic, r.Partition, r.Offset, err)
		}
		return h.deadLetter(r, source, normalize.StageDecode, normalize.ClassOf(err), err.Error())
	}
	if st.dedup != nil {
		if f := st.dedup.CheckDuplicates(events, r.Partition, r.Offset, h.Now()); f != nil {
			return h.deadLetter(r, source, normalize.StageDedup, f.Class, f.Error())
		}
	}
	// Encode all first: a record's events go out together or not at all.
	n := len(h.out)
	for _, ev := range events {
		var out *kgo.Record
		switch {
		case ev.Inference != nil:
			out, err = h.alloc.record(h.inferences, ev.Inference.RequestID, ev.Inference)
		case ev.Label != nil:
			out, err = h.alloc.record(h.labels, ev.Label.RequestID, ev.Label)
		}
		if err != nil {
			clear(h.out[n:])
			h.out = h.out[:n]
			return h.deadLetter(r, source, "encode", "encode", err.Error())
		}
		h.out = append(h.out, out)
	}
	// Counted only once they are sure to go out: a record is either
	// outputs or a dead letter, never both.
	for _, ev := range events {
		if ev.Label != nil {
			h.outLabels.Inc()
		} else {
			h.outInference.Inc()
		}
	}
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
