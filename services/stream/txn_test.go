package stream

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// copier is a stateless handler like the adapter: every polled record is
// copied to out at Flush, through the loop's transactional client.
type copier struct {
	cl   *kgo.Client
	out  string
	fail bool // Flush produces, then fails when a record says "fail"
	hold bool // Flush releases one record less than it was given

	buf  []*kgo.Record
	next Offsets
}

func (c *copier) Handle(_ context.Context, fs kgo.Fetches) error {
	if c.next == nil {
		c.next = Offsets{}
	}
	fs.EachRecord(func(r *kgo.Record) {
		c.buf = append(c.buf, &kgo.Record{Topic: c.out, Value: r.Value})
		off := r.Offset + 1
		if c.hold {
			off = r.Offset
		}
		c.next.Set(r.Topic, r.Partition, off)
	})
	return nil
}

func (c *copier) Flush(ctx context.Context, _ time.Time) (Offsets, error) {
	if err := ProduceSync(ctx, c.cl, c.buf...); err != nil {
		return nil, err
	}
	for _, r := range c.buf {
		if c.fail && string(r.Value) == "fail" {
			c.buf = c.buf[:0]
			return nil, errors.New("handler failed after producing")
		}
	}
	c.buf = c.buf[:0]
	offs := c.next
	c.next = Offsets{}
	return offs, nil
}

func (c *copier) Revoked(string, []int32) {}

// runTxn runs a transactional loop over topic in with a copier until every
// input record is committed, or until Run fails; it returns Run's error.
func runTxn(t *testing.T, brokers []string, c *copier, in string, n int64) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	loop := &Loop{Every: 50 * time.Millisecond}
	opts := append(Config{Brokers: brokers}.Options(nil), loop.GroupOptions("txn-test", in)...)
	sess, err := kgo.NewGroupTransactSession(append(opts, TransactionOptions("txn-test-1")...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	loop.Session, loop.Client, loop.Handler = sess, sess.Client(), c
	c.cl = sess.Client()
	adm := kadm.NewClient(newClient(t, brokers))
	done := make(chan error, 1)
	go func() { done <- loop.Run(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(50 * time.Millisecond):
		}
		offs, err := adm.FetchOffsets(ctx, "txn-test")
		if err == nil {
			if o, ok := offs.Lookup(in, 0); ok && o.At >= n {
				cancel()
				return <-done
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("input not committed before the deadline")
		}
	}
}

// readOut returns the values in topic visible at isolation level; it reads
// until a second passes without a new record.
func readOut(t *testing.T, brokers []string, topic string, level kgo.IsolationLevel) []string {
	t.Helper()
	cl := newClient(t, brokers, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(level),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var vals []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		if fs.NumRecords() == 0 {
			return vals
		}
		fs.EachRecord(func(r *kgo.Record) { vals = append(vals, string(r.Value)) })
	}
	return vals
}

func TestTransactionalLoop(t *testing.T) {
	brokers := startKafka(t)
	admCl := newClient(t, brokers)
	ctx := testContext(t, time.Minute)
	adm := kadm.NewClient(admCl)
	in, out := "txn-in", "txn-out"
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, in, out); err != nil {
		t.Fatal(err)
	}
	input := []string{"a", "b", "fail"}
	for _, v := range input {
		if err := admCl.ProduceSync(ctx, &kgo.Record{Topic: in, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	// A handler that fails after producing: its output is aborted and
	// its offsets stay uncommitted.
	err := runTxn(t, brokers, &copier{out: out, fail: true}, in, 3)
	if err == nil || !strings.Contains(err.Error(), "handler failed") {
		t.Fatalf("Run = %v, want the handler's error", err)
	}
	if got := readOut(t, brokers, out, kgo.ReadUncommitted()); len(got) != 3 {
		t.Fatalf("read_uncommitted saw %v, want the 3 produced then aborted records", got)
	}
	if got := readOut(t, brokers, out, kgo.ReadCommitted()); len(got) != 0 {
		t.Fatalf("read_committed saw %v from an aborted transaction", got)
	}
	offs, err := adm.FetchOffsets(ctx, "txn-test")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup(in, 0); ok && o.At > 0 {
		t.Fatalf("aborted transaction committed offset %d", o.At)
	}

	// A handler that keeps a record past its flush cannot run in a
	// transaction, which would commit that record's offset.
	err = runTxn(t, brokers, &copier{out: out, hold: true}, in, 3)
	if err == nil || !strings.Contains(err.Error(), "cannot run in a transaction") {
		t.Fatalf("Run = %v, want the holding handler refused", err)
	}

	// The same input again, succeeding: a committed consumer sees each
	// record exactly once, though the topic also holds the aborted copies.
	if err := runTxn(t, brokers, &copier{out: out}, in, 3); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := readOut(t, brokers, out, kgo.ReadCommitted())
	slices.Sort(got)
	if want := []string{"a", "b", "fail"}; !slices.Equal(got, want) {
		t.Fatalf("read_committed saw %v, want %v exactly once", got, want)
	}
}
