package stream

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// recorder is a Handler that remembers every record it handled and lets a
// policy choose which offsets Flush returns.
type recorder struct {
	// stopped tells whether the Run being tested was cancelled.
	stopped func() bool
	// commit maps a partition's next offset to the offset Flush returns for
	// it; ok false returns nothing for the partition.
	commit func(next int64, stopped bool) (offset int64, ok bool)

	mu            sync.Mutex
	topic         string
	seen          map[int32]map[int64]int // partition → offset → times handled
	first         map[int32]int64         // partition → first offset handled
	next          map[int32]int64
	flushesAfter  int // Flush calls after the run was cancelled
	handleAfter   int // Handle calls with records after the run was cancelled
	revokedTopics []string
}

func newRecorder(topic string, stopped func() bool, commit func(int64, bool) (int64, bool)) *recorder {
	return &recorder{topic: topic, stopped: stopped, commit: commit,
		seen: map[int32]map[int64]int{}, first: map[int32]int64{}, next: map[int32]int64{}}
}

func (h *recorder) Handle(_ context.Context, fs kgo.Fetches) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	fs.EachRecord(func(r *kgo.Record) {
		if h.stopped() {
			h.handleAfter++
		}
		if h.seen[r.Partition] == nil {
			h.seen[r.Partition] = map[int64]int{}
			h.first[r.Partition] = r.Offset
		}
		h.seen[r.Partition][r.Offset]++
		h.next[r.Partition] = r.Offset + 1
	})
	return nil
}

func (h *recorder) Flush(context.Context, time.Time) (Offsets, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	stopped := h.stopped()
	if stopped {
		h.flushesAfter++
	}
	offs := Offsets{}
	for p, n := range h.next {
		if o, ok := h.commit(n, stopped); ok {
			offs.Set(h.topic, p, o)
		}
	}
	return offs, nil
}

func (h *recorder) Revoked(topic string, _ []int32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.revokedTopics = append(h.revokedTopics, topic)
}

// handledUpTo reports whether every partition in parts was handled up to
// (excluding) end.
func (h *recorder) handledUpTo(parts int32, end int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := int32(0); p < parts; p++ {
		if h.next[p] < end {
			return false
		}
	}
	return true
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// A Loop hands each record to the handler once, commits exactly what Flush
// returns (after each poll and once more after cancellation), and a second
// consumer in the group resumes from there.
func TestLoopCommitsWhatFlushReturns(t *testing.T) {
	brokers := startKafka(t)
	ctx := testContext(t, 60*time.Second)
	admCl := newClient(t, brokers)
	adm := kadm.NewClient(admCl)
	const parts, n = 2, 10 // records per partition before the first run stops

	for i, c := range []struct {
		name   string
		commit func(next int64, stopped bool) (int64, bool)
		// want is the committed offset per partition after the first run;
		// -1 means none.
		want int64
	}{
		{"everything handled", func(next int64, _ bool) (int64, bool) { return next, true }, n},
		{"handler holds back from offset 4", func(next int64, _ bool) (int64, bool) { return min(next, 4), true }, 4},
		{"only the final flush releases", func(next int64, stopped bool) (int64, bool) { return next, stopped }, n},
		{"nothing ever released", func(int64, bool) (int64, bool) { return 0, false }, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			topic := fmt.Sprintf("loop-%d", i)
			group := "g-" + topic
			if _, err := adm.CreateTopic(ctx, parts, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			produce := func(from, to int) {
				t.Helper()
				var rs []*kgo.Record
				for p := int32(0); p < parts; p++ {
					for i := from; i < to; i++ {
						rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, "%d/%d", p, i)})
					}
				}
				if err := ProduceSync(ctx, admCl, rs...); err != nil {
					t.Fatal(err)
				}
			}
			produce(0, n)

			// First run.
			runCtx, stop := context.WithCancel(ctx)
			defer stop()
			h := newRecorder(topic, func() bool { return runCtx.Err() != nil }, c.commit)
			l := &Loop{Handler: h, Every: 50 * time.Millisecond}
			cl, err := kgo.NewClient(append(Config{Brokers: brokers}.Options(nil), l.GroupOptions(group, topic)...)...)
			if err != nil {
				t.Fatal(err)
			}
			l.Client = cl
			done := make(chan error, 1)
			go func() { done <- l.Run(runCtx) }()
			if !waitFor(15*time.Second, func() bool { return h.handledUpTo(parts, n) }) {
				stop()
				t.Fatalf("the loop did not hand over all %d records per partition within 15 s", n)
			}
			committed := func() map[int32]int64 {
				t.Helper()
				fetched, err := adm.FetchOffsets(ctx, group)
				if err != nil {
					t.Fatal(err)
				}
				out := map[int32]int64{}
				fetched.Each(func(o kadm.OffsetResponse) {
					if o.Topic == topic && o.Err == nil && o.At >= 0 {
						out[o.Partition] = o.At
					}
				})
				return out
			}
			if c.name == "only the final flush releases" {
				// Give the loop a few more flushes: none may commit.
				time.Sleep(200 * time.Millisecond)
				if got := committed(); len(got) != 0 {
					t.Fatalf("committed %v while Flush returned nothing", got)
				}
			}
			stop()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run returned %v after cancel, want nil", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("Run did not return within 15 s of cancel")
			}
			got := committed()
			cl.Close() // leaves the group for the second consumer

			h.mu.Lock()
			for p := int32(0); p < parts; p++ {
				for o := int64(0); o < n; o++ {
					if k := h.seen[p][o]; k != 1 {
						t.Errorf("partition %d offset %d handled %d times, want once", p, o, k)
					}
				}
			}
			if h.flushesAfter < 1 {
				t.Errorf("no Flush after cancel: the final flush and commit are missing")
			}
			if h.handleAfter != 0 {
				t.Errorf("%d records handled after cancel; the loop must stop fetching", h.handleAfter)
			}
			h.mu.Unlock()
			for p := int32(0); p < parts; p++ {
				at, ok := got[p]
				switch {
				case c.want < 0 && ok:
					t.Errorf("partition %d: committed %d, want nothing", p, at)
				case c.want >= 0 && (!ok || at != c.want):
					t.Errorf("partition %d: committed %d (present %v), want %d", p, at, ok, c.want)
				}
			}

			// Second run in the same group, with two more records per
			// partition: it starts where the commit says, or at the start.
			produce(n, n+2)
			h2ctx, stop2 := context.WithCancel(ctx)
			defer stop2()
			h2 := newRecorder(topic, func() bool { return h2ctx.Err() != nil }, func(next int64, _ bool) (int64, bool) { return next, true })
			l2 := &Loop{Handler: h2, Every: 50 * time.Millisecond}
			cl2, err := kgo.NewClient(append(Config{Brokers: brokers}.Options(nil), l2.GroupOptions(group, topic)...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl2.Close()
			l2.Client = cl2
			done2 := make(chan error, 1)
			go func() { done2 <- l2.Run(h2ctx) }()
			ok := waitFor(15*time.Second, func() bool { return h2.handledUpTo(parts, n+2) })
			stop2()
			if err := <-done2; err != nil {
				t.Errorf("second Run: %v", err)
			}
			if !ok {
				t.Fatal("the second consumer did not read up to the new records within 15 s")
			}
			wantFirst := max(c.want, 0)
			h2.mu.Lock()
			defer h2.mu.Unlock()
			for p := int32(0); p < parts; p++ {
				if h2.first[p] != wantFirst {
					t.Errorf("partition %d: second consumer started at offset %d, want %d", p, h2.first[p], wantFirst)
				}
				if len(h2.seen[p]) != int(n+2-wantFirst) {
					t.Errorf("partition %d: second consumer handled %d offsets, want %d", p, len(h2.seen[p]), n+2-wantFirst)
				}
			}
		})
	}
}

// assigner is a recorder that also wants its partitions before records.
type assigner struct {
	*recorder
	assigned map[string][]int32
}

func (a *assigner) Assigned(topic string, ps []int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.assigned[topic] = append(a.assigned[topic], ps...)
}

// A handler that implements Assigner learns its partitions when the group
// assigns them, records or not: an empty partition must still be known.
func TestLoopTellsAssignerItsPartitions(t *testing.T) {
	brokers := startKafka(t)
	ctx := testContext(t, 30*time.Second)
	admCl := newClient(t, brokers)
	const topic, parts = "assign-me", 3
	if _, err := kadm.NewClient(admCl).CreateTopic(ctx, parts, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	h := &assigner{recorder: newRecorder(topic, func() bool { return runCtx.Err() != nil },
		func(int64, bool) (int64, bool) { return 0, false }), assigned: map[string][]int32{}}
	l := &Loop{Handler: h, Every: 50 * time.Millisecond}
	cl, err := kgo.NewClient(append(Config{Brokers: brokers}.Options(nil), l.GroupOptions("g-"+topic, topic)...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	l.Client = cl
	done := make(chan error, 1)
	go func() { done <- l.Run(runCtx) }()
	ok := waitFor(15*time.Second, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.assigned[topic]) == parts
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("assigned %v, want the %d partitions of %s", h.assigned, parts, topic)
	}
}
