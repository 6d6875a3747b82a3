package store

import (
	"context"
	"time"

	"github.com/driftline/driftline/services/telemetry"
	"github.com/prometheus/client_golang/prometheus"
)

// Instrument returns st reporting to reg how its inserts and queries go:
// driftline_store_insert_duration_seconds and
// driftline_store_insert_errors_total and driftline_store_rows_inserted_total
// by table, driftline_store_query_duration_seconds and
// driftline_store_query_errors_total. Services write every result through
// it, so a slow or failing ClickHouse shows here first.
func Instrument(st Store, reg prometheus.Registerer) Store {
	return &instrumented{Store: st,
		insertSeconds: telemetry.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: telemetry.Namespace, Name: "store_insert_duration_seconds",
			Help:    "Time an insert took until ClickHouse acknowledged it (or failed), by table.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}, []string{"table"})),
		insertErrors: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: telemetry.Namespace, Name: "store_insert_errors_total",
			Help: "Inserts that failed, by table."}, []string{"table"})),
		rows: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: telemetry.Namespace, Name: "store_rows_inserted_total",
			Help: "Rows in acknowledged inserts, by table (a retried insert absorbed by its token counts again)."}, []string{"table"})),
		querySeconds: telemetry.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: telemetry.Namespace, Name: "store_query_duration_seconds",
			Help:    "Time a query took.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)})),
		queryErrors: telemetry.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: telemetry.Namespace, Name: "store_query_errors_total",
			Help: "Queries and statements that failed."})),
	}
}

type instrumented struct {
	Store
	insertSeconds *prometheus.HistogramVec
	insertErrors  *prometheus.CounterVec
	rows          *prometheus.CounterVec
	querySeconds  prometheus.Histogram
	queryErrors   prometheus.Counter
}

func (s *instrumented) Insert(ctx context.Context, table, token string, rows []Row) error {
	began := time.Now()
	err := s.Store.Insert(ctx, table, token, rows)
	s.insertSeconds.WithLabelValues(table).Observe(time.Since(began).Seconds())
	if err != nil {
		s.insertErrors.WithLabelValues(table).Inc()
		return err
	}
	s.rows.WithLabelValues(table).Add(float64(len(rows)))
	return nil
}

func (s *instrumented) Query(ctx context.Context, q string) (*Result, error) {
	began := time.Now()
	res, err := s.Store.Query(ctx, q)
	s.querySeconds.Observe(time.Since(began).Seconds())
	if err != nil {
		s.queryErrors.Inc()
	}
	return res, err
}

func (s *instrumented) Exec(ctx context.Context, q string) error {
	began := time.Now()
	err := s.Store.Exec(ctx, q)
	s.querySeconds.Observe(time.Since(began).Seconds())
	if err != nil {
		s.queryErrors.Inc()
	}
	return err
}
