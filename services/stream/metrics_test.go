package stream

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A loop with metrics counts the records it read per topic, reports each
// partition's lag (zero once it read everything) and times its polls.
func TestLoopMetrics(t *testing.T) {
	brokers := startKafka(t)
	ctx := testContext(t, 60*time.Second)
	admCl := newClient(t, brokers)
	const topic, group, parts, n = "metered", "g-metered", 2, 25
	if _, err := kadm.NewClient(admCl).CreateTopic(ctx, parts, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	var rs []*kgo.Record
	for p := int32(0); p < parts; p++ {
		for i := range n {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, "%d/%d", p, i)})
		}
	}
	if err := ProduceSync(ctx, admCl, rs...); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	h := newRecorder(topic, func() bool { return runCtx.Err() != nil }, func(next int64, _ bool) (int64, bool) { return next, true })
	reg := prometheus.NewRegistry()
	l := &Loop{Handler: h, Every: 50 * time.Millisecond, Metrics: NewLoopMetrics(reg, group)}
	cl, err := kgo.NewClient(append(Config{Brokers: brokers}.Options(nil), l.GroupOptions(group, topic)...)...)
	if err != nil {
		t.Fatal(err)
	}
	l.Client = cl
	done := make(chan error, 1)
	go func() { done <- l.Run(runCtx) }()
	if !waitFor(15*time.Second, func() bool { return h.handledUpTo(parts, n) }) {
		t.Fatalf("the loop did not read all %d records per partition within 15 s", n)
	}
	// Polls are recorded before they are handled.
	if got := testutil.CollectAndCount(l.Metrics.lag); got != parts {
		t.Errorf("%d lag series, want one per partition (%d)", got, parts)
	}
	for p := range parts {
		if got := testutil.ToFloat64(l.Metrics.lag.WithLabelValues(group, topic, fmt.Sprint(p))); got != 0 {
			t.Errorf("lag of partition %d = %v after reading it all, want 0", p, got)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(l.Metrics.records.WithLabelValues(group, topic)); got != parts*n {
		t.Errorf("records read = %v, want %d", got, parts*n)
	}
	if got := testutil.CollectAndCount(l.Metrics.handle); got != 1 {
		t.Errorf("%d poll-time series, want 1", got)
	}
}
