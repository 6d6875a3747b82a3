package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A killed Loop stops without its final flush and commit, and its client's
// close (which leaves the group and revokes the partitions) flushes and
// commits nothing either: the group's offsets stay where the last regular
// commit left them. A cancelled Loop, for contrast, commits on the way out.
func TestLoopKilledCommitsNothingMore(t *testing.T) {
	brokers := startKafka(t)
	ctx := testContext(t, 60*time.Second)
	admCl := newClient(t, brokers)
	adm := kadm.NewClient(admCl)
	const n = 10
	for i, c := range []struct {
		name string
		kill bool
		want int64 // committed offset after the run; -1 none
	}{
		{"cancelled", false, n},
		{"killed", true, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			topic := fmt.Sprintf("kill-%d", i)
			group := "g-" + topic
			if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			var rs []*kgo.Record
			for j := 0; j < n; j++ {
				rs = append(rs, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "%d", j)})
			}
			if err := ProduceSync(ctx, admCl, rs...); err != nil {
				t.Fatal(err)
			}
			runCtx, kill := WithKill(ctx)
			runCtx, cancel := context.WithCancel(runCtx)
			defer cancel()
			// Only the flush after the run ends releases anything.
			h := newRecorder(topic, func() bool { return runCtx.Err() != nil },
				func(next int64, stopped bool) (int64, bool) { return next, stopped })
			cl, done := startLoop(t, runCtx, brokers, group, topic, h)
			if !waitFor(15*time.Second, func() bool { return h.handledUpTo(1, n) }) {
				cancel()
				t.Fatalf("the loop did not handle the %d records within 15 s", n)
			}
			if c.kill {
				kill()
			} else {
				cancel()
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run returned %v, want nil", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("Run did not return within 15 s")
			}
			cl.Close() // leaves the group: the revoke callback runs
			h.mu.Lock()
			flushes := h.flushesAfter
			h.mu.Unlock()
			if c.kill && flushes != 0 {
				t.Errorf("%d flushes after the kill, want none", flushes)
			}
			if !c.kill && flushes == 0 {
				t.Error("no flush after cancel")
			}
			if got := committedAt(t, ctx, adm, group, topic); got != c.want {
				t.Errorf("committed offset %d, want %d (-1: none)", got, c.want)
			}
		})
	}
}

// flushFails is a Handler whose Flush fails once every record is handled,
// as a level 2 whose insert fails after it marked its windows finished:
// it would return every offset from then on.
type flushFails struct {
	mu         sync.Mutex
	topic      string
	n, next    int64
	failed     bool
	flushAfter int // Flush calls after the failed one
}

func (h *flushFails) Handle(_ context.Context, fs kgo.Fetches) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	fs.EachRecord(func(r *kgo.Record) { h.next = r.Offset + 1 })
	return nil
}

func (h *flushFails) Flush(context.Context, time.Time) (Offsets, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.failed:
		h.flushAfter++
		return Offsets{h.topic: {0: h.next}}, nil
	case h.next >= h.n:
		h.failed = true
		return nil, errors.New("insert failed")
	}
	return nil, nil
}

func (h *flushFails) Revoked(string, []int32) {}

// After a failed Flush the Loop stops with the error and flushes and
// commits nothing more, not even when its client's close revokes its
// partitions: what the failed flush did not write is replayed.
func TestLoopFailedFlushCommitsNothingMore(t *testing.T) {
	brokers := startKafka(t)
	ctx := testContext(t, 60*time.Second)
	admCl := newClient(t, brokers)
	adm := kadm.NewClient(admCl)
	const topic, group, n = "flush-fails", "g-flush-fails", 5
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	for j := 0; j < n; j++ {
		if err := ProduceSync(ctx, admCl, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "%d", j)}); err != nil {
			t.Fatal(err)
		}
	}
	h := &flushFails{topic: topic, n: n}
	cl, done := startLoop(t, ctx, brokers, group, topic, h)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "insert failed") {
			t.Errorf("Run returned %v, want the flush's error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return within 20 s of the failed flush")
	}
	cl.Close() // leaves the group: the revoke callback runs
	h.mu.Lock()
	after := h.flushAfter
	h.mu.Unlock()
	if after != 0 {
		t.Errorf("%d flushes after the failed one, want none", after)
	}
	if got := committedAt(t, ctx, adm, group, topic); got != -1 {
		t.Errorf("committed offset %d after the failed flush, want none", got)
	}
}

// startLoop runs a Loop over topic in group with handler h until ctx ends
// and returns its client and Run's result.
func startLoop(t *testing.T, ctx context.Context, brokers []string, group, topic string, h Handler) (*kgo.Client, <-chan error) {
	t.Helper()
	l := &Loop{Handler: h, Every: 50 * time.Millisecond}
	cl, err := kgo.NewClient(append(Config{Brokers: brokers}.Options(nil), l.GroupOptions(group, topic)...)...)
	if err != nil {
		t.Fatal(err)
	}
	l.Client = cl
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	return cl, done
}

// committedAt returns group's committed offset of topic's partition 0, -1
// if none.
func committedAt(t *testing.T, ctx context.Context, adm *kadm.Client, group, topic string) int64 {
	t.Helper()
	fetched, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := fetched.Lookup(topic, 0); ok && o.Err == nil && o.At >= 0 {
		return o.At
	}
	return -1
}
