package aggregate

import (
	"context"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

type count struct{ n int64 }

func (c *count) Fill(p *schemas.WindowPartial) { p.Count = c.n }

// byTimestamp puts every record in the window of its Kafka timestamp.
type byTimestamp struct{}

func (byTimestamp) Route(r *kgo.Record, eng *window.Level1[*count], now time.Time) error {
	if c, ok := eng.Add(r.Partition, r.Offset, window.Key{ModelID: "m"}, r.Timestamp, now); ok {
		c.n++
	}
	return nil
}
func (byTimestamp) Flush(context.Context) (stream.Offsets, error) { return nil, nil }
func (byTimestamp) Revoked(string, []int32)                       {}

// The inferences topic is written in transactions (the adapter's), and a
// commit marker follows the last record of each. A level 1 that has read
// everything must go idle after the idle timeout; it can tell that it has
// read everything only if it sees the marker's offset.
func TestLevel1IdleAfterTransactionalInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opts := stream.Config{Brokers: c.ListenAddrs()}.Options(nil)
	prod, err := kgo.NewClient(append(opts, kgo.TransactionalID("adapter-test"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if _, err := kadm.NewClient(prod).CreateTopic(ctx, 1, 1, nil, "in"); err != nil {
		t.Fatal(err)
	}
	if err := prod.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	// Recent: franz-go counts a record's delivery timeout (2 min here)
	// from its Timestamp, so a fixed date fails the produce once it is
	// that far in the past.
	at := time.Now().UTC().Truncate(time.Second)
	for i := range 3 {
		r := &kgo.Record{Topic: "in", Value: []byte{byte(i)}, Timestamp: at.Add(time.Duration(i) * time.Second)}
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := prod.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		opts     []kgo.Opt
		wantIdle bool
	}{
		{"with ConsumerOptions", ConsumerOptions(), true},
		{"without control records", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := kgo.NewClient(append(append(opts, kgo.ConsumeTopics("in"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())), tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			const idle = 50 * time.Millisecond
			l := &Level1[*count]{Engine: window.NewLevel1(window.Config{IdleTimeout: idle}, func(window.Key) *count { return &count{} }),
				Router: byTimestamp{}, Source: "in"}
			// Read until the three records are in, then once more: the
			// broker has nothing else to give.
			seen, extra := 0, 0
			for extra < 2 && ctx.Err() == nil {
				pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
				fs := cl.PollFetches(pctx)
				pcancel()
				if err := l.Handle(ctx, fs); err != nil {
					t.Fatal(err)
				}
				fs.EachRecord(func(r *kgo.Record) {
					if !r.Attrs.IsControl() {
						seen++
					}
				})
				if seen == 3 {
					extra++
				}
			}
			if seen != 3 {
				t.Fatalf("read %d records, want 3", seen)
			}
			_, hbs := l.Engine.Flush(time.Now().Add(time.Second))
			idled := len(hbs) == 1 && hbs[0].Idle
			if idled != tc.wantIdle {
				t.Errorf("heartbeats %+v: idle %v, want %v", hbs, idled, tc.wantIdle)
			}
		})
	}
}
