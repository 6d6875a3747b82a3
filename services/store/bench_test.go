package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// metricRows are rows as the aggregator writes them: one per feature and
// metric of a window.
func metricRows(n int, start time.Time) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{
			"model_id": "churn", "model_version": "7", "variant": "production", "segment": fmt.Sprintf("region=%d", i%7),
			"window_start": start, "window_end": start.Add(5 * time.Minute),
			"family": "drift", "feature": fmt.Sprintf("f%03d", i%300), "metric": "psi",
			"value": float64(i) / 1000, "threshold": 0.2, "p_value": nil, "detected": i%10 == 0,
			"sample_count": uint64(5000 + i), "reference_count": uint64(100000), "reference_id": "ref-1",
			"computed_at": start.Add(5 * time.Minute), "revision": uint32(0),
		}
	}
	return rows
}

// BenchmarkEmbeddedInsert measures Insert into chDB with the batch size the
// design asks for (10,000 rows), each batch with its own token.
func BenchmarkEmbeddedInsert(b *testing.B) {
	const batch = 10_000
	st, err := Open(context.Background(), "chdb://"+b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := Migrate(context.Background(), st, ""); err != nil {
		b.Fatal(err)
	}
	start := time.Now().UTC().Truncate(time.Hour)
	for _, bm := range []struct {
		table string
		rows  []Row
	}{
		{"predictions", predictionRows(batch, start)},
		{"metrics", metricRows(batch, start)},
	} {
		b.Run(bm.table, func(b *testing.B) {
			ctx := context.Background()
			// Describe the table outside the timing.
			if err := st.Insert(ctx, bm.table, "warm-up", bm.rows[:1]); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				if err := st.Insert(ctx, bm.table, fmt.Sprintf("bench-%d", i), bm.rows); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(batch*i)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkEncode isolates the Go side of an embedded insert: checking and
// converting rows, and writing them as JSONEachRow.
func BenchmarkEncode(b *testing.B) {
	res := &Result{
		Columns: []Column{{"name", "String"}, {"type", "String"}, {"default_type", "String"}, {"default_expression", "String"}},
	}
	for _, c := range [][2]string{
		{"model_id", "LowCardinality(String)"}, {"model_version", "LowCardinality(String)"}, {"variant", "LowCardinality(String)"},
		{"segment", "String"}, {"window_start", "DateTime64(3, 'UTC')"}, {"window_end", "DateTime64(3, 'UTC')"},
		{"family", "LowCardinality(String)"}, {"feature", "LowCardinality(String)"}, {"metric", "LowCardinality(String)"},
		{"value", "Float64"}, {"threshold", "Nullable(Float64)"}, {"p_value", "Nullable(Float64)"}, {"detected", "Bool"},
		{"sample_count", "UInt64"}, {"reference_count", "UInt64"}, {"reference_id", "String"},
		{"computed_at", "DateTime64(3, 'UTC')"}, {"revision", "UInt32"},
	} {
		res.Rows = append(res.Rows, []any{c[0], c[1], "", ""})
	}
	schema, err := newTableSchema(res)
	if err != nil {
		b.Fatal(err)
	}
	rows := metricRows(10_000, time.Now().UTC())
	var buf []byte
	n := 0
	for b.Loop() {
		cols, values, err := prepareInsert(schema, rows)
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = appendJSONEachRow(buf[:0], cols, values, time.UTC); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(len(rows)*n)/b.Elapsed().Seconds(), "rows/s")
	b.SetBytes(int64(len(buf)))
}
