package stream

import (
	"strconv"
	"time"

	"github.com/driftline/driftline/services/telemetry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// LoopMetrics are what a consume loop reports, labelled by its consumer
// group: records read per topic, each partition's lag behind its high
// watermark as of the last fetch that returned records of it, and how
// long each poll's handling and flush took. A nil *LoopMetrics reports
// nothing.
type LoopMetrics struct {
	group   string
	records *prometheus.CounterVec
	lag     *prometheus.GaugeVec
	handle  *prometheus.HistogramVec
}

// NewLoopMetrics registers a loop's metrics on reg (nil: unregistered).
func NewLoopMetrics(reg prometheus.Registerer, group string) *LoopMetrics {
	return &LoopMetrics{group: group,
		records: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: telemetry.Namespace, Name: "records_read_total",
			Help: "Records a consumer group's loop read, by topic."}, []string{"group", "topic"})),
		lag: telemetry.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: telemetry.Namespace, Name: "consumer_lag",
			Help: "Records between the last one a loop read of a partition and the partition's high watermark, as of the last fetch with records of it."},
			[]string{"group", "topic", "partition"})),
		handle: telemetry.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: telemetry.Namespace, Name: "poll_handle_duration_seconds",
			Help:    "Time a loop took to handle one poll's records, flush and commit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}, []string{"group"})),
	}
}

// polled records what a poll returned.
func (m *LoopMetrics) polled(fs kgo.Fetches) {
	if m == nil {
		return
	}
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		n := len(p.Records)
		if n == 0 {
			return
		}
		m.records.WithLabelValues(m.group, p.Topic).Add(float64(n))
		lag := p.HighWatermark - p.Records[n-1].Offset - 1
		m.lag.WithLabelValues(m.group, p.Topic, strconv.Itoa(int(p.Partition))).Set(float64(max(lag, 0)))
	})
}

// handled records how long a poll's handling took.
func (m *LoopMetrics) handled(d time.Duration) {
	if m == nil {
		return
	}
	m.handle.WithLabelValues(m.group).Observe(d.Seconds())
}

// forget drops the lag of partitions the loop no longer owns: their new
// owner reports it.
func (m *LoopMetrics) forget(lost map[string][]int32) {
	if m == nil {
		return
	}
	for t, ps := range lost {
		for _, p := range ps {
			m.lag.DeleteLabelValues(m.group, t, strconv.Itoa(int(p)))
		}
	}
}
