package aggregate

import (
	"time"

	"github.com/driftline/driftline/services/telemetry"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are what a family's window levels report, labelled by family: a
// nil *Metrics reports nothing. Records read, lag and insert times come
// from the consume loops and the store (stream.LoopMetrics,
// store.Instrument).
type Metrics struct {
	family     string
	partials   *prometheus.CounterVec
	windows    *prometheus.CounterVec
	closeDelay *prometheus.HistogramVec
	views      *prometheus.CounterVec
	viewQueue  *prometheus.GaugeVec
}

// NewMetrics registers the window metrics of family on reg (nil:
// unregistered).
func NewMetrics(reg prometheus.Registerer, family string) *Metrics {
	return &Metrics{family: family,
		partials: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: telemetry.Namespace, Name: "window_partials_total",
			Help: "Partials level 1 handed to level 2 (windows of one source partition, and their revisions)."}, []string{"family"})),
		windows: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: telemetry.Namespace, Name: "windows_finished_total",
			Help: "Windows level 2 computed and wrote, revisions included."}, []string{"family"})),
		closeDelay: telemetry.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: telemetry.Namespace, Name: "window_close_delay_seconds",
			Help: "Wall-clock time from a window's end to its metrics written: out-of-orderness, lateness and the " +
				"pipeline's delay on live input; as old as the events when replaying or backfilling.",
			Buckets: prometheus.ExponentialBuckets(0.25, 2, 16)}, []string{"family"})),
		views: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: telemetry.Namespace, Name: "views_computed_total",
			Help: "Longer views (merges of finished windows) computed and written."}, []string{"family"})),
		viewQueue: telemetry.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: telemetry.Namespace, Name: "view_queue",
			Help: "Views ready and waiting to be computed: one that keeps growing means views cost more than level 2 has to spare."},
			[]string{"family"})),
	}
}

func (m *Metrics) partialsSent(n int) {
	if m != nil && n > 0 {
		m.partials.WithLabelValues(m.family).Add(float64(n))
	}
}

func (m *Metrics) windowWritten(end, now time.Time) {
	if m == nil {
		return
	}
	m.windows.WithLabelValues(m.family).Inc()
	m.closeDelay.WithLabelValues(m.family).Observe(max(now.Sub(end).Seconds(), 0))
}

func (m *Metrics) viewsComputed(n, queued int) {
	if m == nil {
		return
	}
	m.views.WithLabelValues(m.family).Add(float64(n))
	m.viewQueue.WithLabelValues(m.family).Set(float64(queued))
}
