package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Offsets are positions to commit: topic → partition → next offset to read.
type Offsets map[string]map[int32]int64

// Set records offset for topic/partition.
func (o Offsets) Set(topic string, partition int32, offset int64) {
	if o[topic] == nil {
		o[topic] = make(map[int32]int64)
	}
	o[topic][partition] = offset
}

// Handler is one service's side of a consume loop. The loop calls it from
// one goroutine at a time, and holds a lock while a rebalance calls Revoked,
// so handlers keep their state without locks of their own.
type Handler interface {
	// Handle processes the records of one poll.
	Handle(ctx context.Context, fs kgo.Fetches) error
	// Flush does the periodic work (closing windows, producing, inserting)
	// and returns the offsets that are now safe to commit: everything before
	// them is durably reflected downstream.
	Flush(ctx context.Context, now time.Time) (Offsets, error)
	// Revoked forgets partitions another instance now owns.
	Revoked(topic string, partitions []int32)
}

// Loop runs a consumer-group client against a Handler: poll, handle, flush,
// commit, until ctx ends; then a last flush and commit.
type Loop struct {
	Client  *kgo.Client
	Handler Handler
	// Every bounds the time between flushes when no records arrive.
	Every time.Duration
	// Logger reports rebalances; nil discards.
	Logger *slog.Logger
	// Session, when set, makes every poll one Kafka transaction: what the
	// handler produces in Flush and the offsets of the polled records commit
	// together or not at all, so a crash never leaves a record's output
	// visible without its offset committed (consumers read_committed).
	// Client must be Session.Client() and the handler must produce through
	// it. GroupTransactSession commits the offsets of every polled record,
	// so only a handler whose Flush covers all of them can run this way:
	// the adapter can; the window levels, whose offsets trail their open
	// windows, cannot (they rely on idempotent partials and dedup tokens).
	Session *kgo.GroupTransactSession
	// Metrics, if set, report the loop's reads, lag and handling time.
	Metrics *LoopMetrics

	mu     sync.Mutex
	killed func() bool // a fault test killed the run (WithKill)
	// failed is the first error of a handle or flush. A failed
	// Flush may have left the handler's state past what it wrote (a window
	// marked finished whose insert failed), so nothing may be flushed or
	// committed after it: the run ends and the restart replays.
	failed error
}

// GroupOptions are the franz-go options a Loop's client needs: commits are
// the Loop's (after flush), never automatic, and rebalances wait for the
// Loop (BlockRebalanceOnPoll): a revoke callback then never runs while the
// Loop holds its state or waits on a sync commit, which franz-go blocks
// during a group's join and sync.
func (l *Loop) GroupOptions(group string, topics ...string) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(l.assigned),
		kgo.OnPartitionsRevoked(l.revoked),
		kgo.OnPartitionsLost(l.revoked),
	}
}

func (l *Loop) log() *slog.Logger {
	if l.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Logger
}

// Assigner is implemented by handlers that want to know the partitions
// they now own before any record of them arrives.
type Assigner interface {
	Assigned(topic string, partitions []int32)
}

func (l *Loop) assigned(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
	l.log().Info("partitions assigned", "partitions", ps)
	a, ok := l.Handler.(Assigner)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for t, parts := range ps {
		a.Assigned(t, parts)
	}
}

func (l *Loop) revoked(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	l.log().Info("partitions revoked", "partitions", lost)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead() {
		return
	}
	// Commit what is safe before the partitions move, so the new owner
	// replays as little as possible. A transactional loop has nothing to
	// commit here: every poll ended its transaction before the rebalance
	// was allowed, and producing outside a transaction is refused.
	if l.Session == nil {
		if offs, err := l.Handler.Flush(ctx, time.Now()); err != nil {
			l.failed = fmt.Errorf("flush before a rebalance: %w", err)
		} else {
			_ = commit(ctx, cl, offs)
		}
	}
	for t, ps := range lost {
		l.Handler.Revoked(t, ps)
	}
	l.Metrics.forget(lost)
}

// Run polls until ctx is cancelled. A handler error stops the loop: the
// offsets of unfinished work stay uncommitted and are replayed on restart.
func (l *Loop) Run(ctx context.Context) error {
	every := l.Every
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	l.mu.Lock()
	l.killed = killed(ctx)
	l.mu.Unlock()
	// However Run ends, a rebalance blocked since the last poll may go on.
	defer l.Client.AllowRebalance()
	for {
		pctx, cancel := context.WithTimeout(ctx, every)
		fs := l.Client.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return l.stop()
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			var session *kgo.ErrGroupSession
			switch {
			case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			case errors.As(err, &session):
				// The member lost its session (a broker down, say): its
				// partitions were revoked and franz-go rejoins on its own,
				// resuming from the committed offsets.
				l.log().Warn("consumer group session lost; rejoining", "err", err)
			case ferr == nil:
				ferr = fmt.Errorf("fetch %s[%d]: %w", t, p, err)
			}
		})
		if ferr != nil {
			if errors.Is(ferr, kgo.ErrClientClosed) {
				return nil
			}
			return ferr
		}
		l.Metrics.polled(fs)
		began := time.Now()
		l.mu.Lock()
		err := l.failed
		switch {
		case err != nil:
		case l.Session != nil:
			err = l.transact(ctx, fs)
		default:
			err = l.Handler.Handle(ctx, fs)
			var offs Offsets
			if err == nil {
				offs, err = l.Handler.Flush(ctx, time.Now())
			}
			if err == nil {
				if cerr := commit(ctx, l.Client, offs); cerr != nil {
					// Only the offsets lag (a broker down, a rebalance):
					// the next flush's commit covers these.
					l.log().Warn("commit failed; the next flush commits again", "err", cerr)
				}
			}
		}
		l.failed = err
		l.mu.Unlock()
		l.Metrics.handled(time.Since(began))
		l.Client.AllowRebalance()
		if err != nil {
			if ctx.Err() != nil {
				return l.stop()
			}
			return err
		}
	}
}

// stop ends a Run whose context ended: a last flush and commit, unless a
// fault test killed the run or a flush failed.
func (l *Loop) stop() error {
	l.mu.Lock()
	dead := l.dead()
	l.mu.Unlock()
	if dead {
		return nil
	}
	return l.drain()
}

// dead reports whether the handler may no longer flush and commit; l.mu
// is held.
func (l *Loop) dead() bool { return l.failed != nil || l.killed != nil && l.killed() }

// drain flushes and commits once more on shutdown, with a fresh deadline
// since the run context is already cancelled.
func (l *Loop) drain() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Session != nil {
		// Every transaction ended with its poll: nothing is pending.
		return nil
	}
	offs, err := l.Handler.Flush(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("final flush: %w", err)
	}
	return commit(ctx, l.Client, offs)
}

func commit(ctx context.Context, cl *kgo.Client, offs Offsets) error {
	if len(offs) == 0 {
		return nil
	}
	m := make(map[string]map[int32]kgo.EpochOffset, len(offs))
	for t, ps := range offs {
		for p, o := range ps {
			if o < 0 {
				continue
			}
			if m[t] == nil {
				m[t] = make(map[int32]kgo.EpochOffset)
			}
			m[t][p] = kgo.EpochOffset{Epoch: -1, Offset: o}
		}
	}
	var cerr error
	cl.CommitOffsetsSync(ctx, m, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if e := kerr.ErrorForCode(p.ErrorCode); e != nil && cerr == nil {
					cerr = fmt.Errorf("commit %s[%d]: %w", t.Topic, p.Partition, e)
				}
			}
		}
	})
	return cerr
}
