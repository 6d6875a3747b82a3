package loadgen

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestProduce runs the producer against franz-go's in-process Kafka: the
// record limit holds, every record lands on its topic keyed by request id,
// and the closable windows are reported in order, exactly those whose end
// plus CloseAfter the stream passed.
func TestProduce(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "raw.load", "raw.labels"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	o := Defaults()
	o.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o.Window, o.EventsPerWindow = time.Minute, 500
	o.LabelShare, o.LabelDelay = 0.3, 2*time.Minute
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var windows []time.Time
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Produce(ctx, cl, g, RunOptions{
		InferenceTopic: "raw.load", LabelTopic: "raw.labels", Records: 5000, CloseAfter: 5 * time.Second,
		OnClosable: func(w, _ time.Time) { windows = append(windows, w) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Records != 5000 || s.Inferences+s.Labels != 5000 || s.Labels == 0 || s.Failed != 0 {
		t.Fatalf("summary %+v", s)
	}
	// Inference i is at Start + i minutes/500.
	last := o.Start.Add(time.Duration(s.Inferences-1) * (time.Minute / 500))
	if !s.LastEvent.Equal(last) {
		t.Errorf("last event time %s, want %s", s.LastEvent, last)
	}
	want := int(last.Add(-5*time.Second).Sub(o.Start) / time.Minute)
	if len(windows) != want {
		t.Fatalf("%d closable windows, want %d (last event %s)", len(windows), want, last)
	}
	for i, w := range windows {
		if !w.Equal(o.Start.Add(time.Duration(i) * time.Minute)) {
			t.Fatalf("closable window %d starts %s", i, w)
		}
	}

	counts := map[string]int64{}
	rd, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("raw.load", "raw.labels"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for counts["raw.load"]+counts["raw.labels"] < 5000 && ctx.Err() == nil {
		rd.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			var v struct {
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(r.Value, &v); err != nil || v.RequestID != string(r.Key) {
				t.Fatalf("record %s key %q: %v", r.Value, r.Key, err)
			}
			counts[r.Topic]++
		})
	}
	if counts["raw.load"] != s.Inferences || counts["raw.labels"] != s.Labels {
		t.Fatalf("topics hold %v, summary says %d inferences and %d labels", counts, s.Inferences, s.Labels)
	}
}
