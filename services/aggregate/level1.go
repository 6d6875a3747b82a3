// Package aggregate runs the windowing engine over Kafka: level 1 turns a
// consumer's records into WindowPartials on the partials topic, level 2
// merges them into finished windows, computes metrics, writes them to
// ClickHouse and driftline.metrics, and commits only after both.
package aggregate

import (
	"context"
	"fmt"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Accumulator is one window's family state at level 1.
type Accumulator interface {
	// Fill writes the state into the partial (Features, Counters, ReferenceID).
	Fill(p *schemas.WindowPartial)
}

// Router is a service's level-1 logic: it reads one record and updates the
// windows it belongs to through eng.
type Router[A Accumulator] interface {
	Route(r *kgo.Record, eng *window.Level1[A], now time.Time) error
	// Flush writes what the router buffered and returns, per topic and
	// partition, the offset before which records are durably handled and
	// not still needed (e.g. by unpaired predictions); nil when only open
	// windows hold records.
	Flush(ctx context.Context) (stream.Offsets, error)
	// Revoked forgets the state of partitions another instance now owns,
	// after a last Flush; their offsets must not be committed from here.
	Revoked(topic string, partitions []int32)
}

// Level1 is a stream.Handler that feeds a Router and publishes partials.
type Level1[A Accumulator] struct {
	Engine   *window.Level1[A]
	Router   Router[A]
	Producer *kgo.Client
	Topics   stream.Topics
	Family   string
	// Metrics, if set, count the partials handed over.
	Metrics *Metrics
	lag     map[int32]map[string]bool // partition → topic → records wait unread

	// Source is the topic whose partitions the watermarks are kept for;
	// SourcePartitions is its partition count, PartialsPartitions the
	// partials topic's.
	Source             string
	SourcePartitions   int32
	PartialsPartitions int32
}

// Handle routes every record of a poll.
func (l *Level1[A]) Handle(ctx context.Context, fs kgo.Fetches) error {
	now := time.Now()
	if l.lag == nil {
		l.lag = make(map[int32]map[string]bool)
	}
	var err error
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		for _, r := range p.Records {
			if err == nil && !r.Attrs.IsControl() {
				err = l.Router.Route(r, l.Engine, now)
			}
		}
		if n := len(p.Records); n > 0 {
			// A partition is idle only when every topic read with it
			// (inferences and labels share partition numbers) is caught up.
			// The last record is compared with the high watermark, so the
			// client must keep control records (ConsumerOptions): a
			// transaction's commit marker takes an offset, and without it a
			// caught-up partition of transactional input would look behind
			// forever and never go idle.
			topics := l.lag[p.Partition]
			if topics == nil {
				topics = make(map[string]bool)
				l.lag[p.Partition] = topics
			}
			topics[p.Topic] = p.Records[n-1].Offset+1 < p.HighWatermark
			lagging := false
			for _, lag := range topics {
				lagging = lagging || lag
			}
			l.Engine.Lagging(p.Partition, lagging)
		}
	})
	return err
}

// ConsumerOptions are the options level 1's consumer needs besides the
// group's.
func ConsumerOptions() []kgo.Opt { return []kgo.Opt{kgo.KeepControlRecords()} }

// Flush publishes finished partials and heartbeats and returns what may be
// committed. The router writes what it buffered first: a partial tells level
// 2 that everything of its window is durable (the labeler's level 2 joins
// the labels it inserted), so it must not overtake those writes.
func (l *Level1[A]) Flush(ctx context.Context, now time.Time) (stream.Offsets, error) {
	offs, err := l.Router.Flush(ctx)
	if err != nil {
		return nil, err
	}
	if offs == nil {
		offs = stream.Offsets{}
	}
	parts, hbs := l.Engine.Flush(now)
	var rs []*kgo.Record
	for _, p := range parts {
		wp := p.Envelope(l.Source, l.SourcePartitions)
		p.Acc.Fill(&wp)
		r, err := stream.Record(l.Topics.Partials(), wp.ModelID, &wp)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	for _, h := range hbs {
		wp := h.Envelope(l.Family, l.Source, l.SourcePartitions)
		for pp := int32(0); pp < l.PartialsPartitions; pp++ {
			r, err := stream.Record(l.Topics.Partials(), "", &wp)
			if err != nil {
				return nil, err
			}
			r.Partition = pp
			rs = append(rs, r)
		}
	}
	if err := stream.ProduceSync(ctx, l.Producer, rs...); err != nil {
		return nil, fmt.Errorf("publish partials: %w", err)
	}
	l.Metrics.partialsSent(len(parts))
	// Only the source topic's records sit in windows; the router says how
	// far every consumed topic is safe. For the source topic the engine
	// takes the router's hold into account: cut there alone, the commit
	// could fall inside a handed-over window's records, and the engine
	// must know where a restart may read from (see window.Level1.Committable).
	for _, p := range l.Engine.Partitions() {
		hold := int64(-1)
		if h, held := offs[l.Source][p]; held {
			if h < 0 {
				continue // the router holds all of it
			}
			hold = h
		}
		if o := l.Engine.CommittableBefore(p, hold); o >= 0 {
			offs.Set(l.Source, p, o)
		}
	}
	return offs, nil
}

// Assigned registers the source partitions this instance now owns with
// the engine: one that never sees a record still reports itself (idle,
// after the idle timeout) instead of holding every window open at level 2,
// and a partition taken over from another instance says at once that it
// is active again, where level 2 may still hold the old owner's last
// "idle".
func (l *Level1[A]) Assigned(topic string, ps []int32) {
	if topic == l.Source {
		l.Engine.Assign(time.Now(), ps...)
	}
}

// Revoked drops the state of partitions that moved away.
func (l *Level1[A]) Revoked(topic string, ps []int32) {
	if topic == l.Source {
		l.Engine.Revoke(ps...)
	}
	for _, p := range ps {
		if m := l.lag[p]; m != nil {
			delete(m, topic)
		}
	}
	l.Router.Revoked(topic, ps)
}
