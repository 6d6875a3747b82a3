package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// The instrumented store counts acknowledged rows and failures by table,
// times every insert, and counts failed queries; two instruments on one
// registry share the metrics.
func TestInstrument(t *testing.T) {
	raw, _ := storetest.Open(t)
	reg := prometheus.NewRegistry()
	st := store.Instrument(raw, reg)
	again := store.Instrument(raw, reg)
	ctx := context.Background()
	row := store.Row{"received_at": time.Now(), "source_topic": "t", "source_partition": int32(0), "source_offset": int64(1),
		"stage": "decode", "error_class": "malformed", "error_message": "m", "original": []byte("x"), "headers": map[string]string{}}
	if err := st.Insert(ctx, "deadletters", "", []store.Row{row, row}); err != nil {
		t.Fatal(err)
	}
	if err := again.Insert(ctx, "deadletters", "", []store.Row{row}); err != nil {
		t.Fatal(err)
	}
	if err := st.Insert(ctx, "no_such_table", "", []store.Row{row}); err == nil {
		t.Fatal("an insert into a missing table succeeded")
	}
	if _, err := st.Query(ctx, "SELECT nonsense FROM"); err == nil {
		t.Fatal("a broken query succeeded")
	}
	if _, err := st.Query(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"rows deadletters", value(t, reg, "driftline_store_rows_inserted_total", "deadletters"), 3},
		{"errors no_such_table", value(t, reg, "driftline_store_insert_errors_total", "no_such_table"), 1},
		{"errors deadletters", value(t, reg, "driftline_store_insert_errors_total", "deadletters"), 0},
		{"query errors", value(t, reg, "driftline_store_query_errors_total", ""), 1},
		{"inserts timed", value(t, reg, "driftline_store_insert_duration_seconds", ""), 3},
		{"queries timed", value(t, reg, "driftline_store_query_duration_seconds", ""), 2},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// value returns the counter of name, or the sample count of the histogram
// of name, summed over its series with the given label value ("" for
// every series).
func value(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if h := m.GetHistogram(); h != nil {
				v += float64(h.GetSampleCount())
			} else {
				v += m.GetCounter().GetValue()
			}
		}
	}
	return v
}
