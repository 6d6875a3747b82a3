package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// endTimeout bounds ending a transaction. End runs on a context of its own:
// franz-go leaves a client whose End was cancelled midway in an invalid
// state, and a shutdown must still abort cleanly.
const endTimeout = 30 * time.Second

// transact handles one poll as one transaction: begin, handle, flush
// (which produces), then commit the output together with the offsets of
// every polled record, or abort it all.
func (l *Loop) transact(ctx context.Context, fs kgo.Fetches) error {
	if err := l.Session.Begin(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	err := l.Handler.Handle(ctx, fs)
	var offs Offsets
	if err == nil {
		offs, err = l.Handler.Flush(ctx, time.Now())
	}
	if err == nil {
		err = coversPolled(fs, offs)
	}
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTimeout)
	defer cancel()
	if err != nil {
		// Nothing this poll produced becomes visible, and the session
		// rewinds to the committed offsets.
		if _, aerr := l.Session.End(ectx, kgo.TryAbort); aerr != nil {
			err = errors.Join(err, fmt.Errorf("abort transaction: %w", aerr))
		}
		return err
	}
	committed, err := l.Session.End(ectx, kgo.TryCommit)
	if err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	if !committed {
		// A rebalance since the last poll: the session aborted rather
		// than commit offsets another member may now own, and consuming
		// resumes at the committed offsets, so these records come again.
		l.log().Info("transaction aborted after a rebalance; its records are consumed again")
	}
	return nil
}

// coversPolled checks that offs reaches past every polled record: the
// session commits all of them, so a handler still holding some (an open
// window) would lose them on a crash.
func coversPolled(fs kgo.Fetches, offs Offsets) error {
	var err error
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if err != nil || len(p.Records) == 0 {
			return
		}
		last := p.Records[len(p.Records)-1].Offset
		if got, ok := offs[p.Topic][p.Partition]; !ok || got <= last {
			err = fmt.Errorf("transactional loop: handler released %s[%d] only up to offset %d of %d polled; it keeps records past a flush and cannot run in a transaction",
				p.Topic, p.Partition, got, last+1)
		}
	})
	return err
}

// TransactionTimeout is how long the broker lets a transaction stay open.
// It is also how long a crashed member's open transaction holds back every
// read_committed consumer of its output until the broker aborts it: the
// transactional ids are per process, so a restart does not fence the old
// one. A poll's flush takes well under a second.
const TransactionTimeout = 10 * time.Second

// TransactionOptions are the franz-go options of a transactional loop's
// session besides GroupOptions: a transactional id unique to this member
// (KIP-447 fences zombies by group generation, so it need not survive a
// restart) and TransactionTimeout.
func TransactionOptions(id string) []kgo.Opt {
	return []kgo.Opt{
		kgo.TransactionalID(id),
		kgo.TransactionTimeout(TransactionTimeout),
	}
}
