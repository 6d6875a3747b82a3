package store

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleResult holds one value of every kind a Result carries, as both
// stores return them.
func sampleResult() *Result {
	at := time.Date(2026, 3, 4, 5, 6, 7, 89_000_000, time.UTC)
	return &Result{
		Columns: []Column{
			{"model_id", "LowCardinality(String)"},
			{"window_start", "DateTime64(3, 'UTC')"},
			{"day", "Date"},
			{"value", "Float64"},
			{"p_value", "Nullable(Float64)"},
			{"detected", "Bool"},
			{"sample_count", "UInt64"},
			{"delta", "Int64"},
			{"segments", "Map(String, String)"},
			{"bins", "Array(Float64)"},
			{"note", "String"},
		},
		Rows: [][]any{
			{"churn", at, time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), 0.25, nil, true, uint64(math.MaxUint64), int64(-3),
				map[string]string{"region": "eu", "tier": "gold"}, []any{0.5, 1.5}, "ünïcode"},
			{"fraud-v2", at.Add(5 * time.Minute), time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), math.Inf(1), 0.031, false, uint64(0), int64(12),
				map[string]string{}, []any{}, "line\nbreak\ttab"},
			{"x", at, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), math.NaN(), 1e-9, false, uint64(7), int64(0),
				map[string]string{"quote": "it's"}, []any{math.Inf(-1)}, ""},
		},
	}
}

func TestWriteGolden(t *testing.T) {
	tests := []struct {
		name  string
		res   *Result
		write func(*Result, *bytes.Buffer) error
	}{
		{"result.txt", sampleResult(), func(r *Result, b *bytes.Buffer) error { return r.WriteTable(b) }},
		{"result.json", sampleResult(), func(r *Result, b *bytes.Buffer) error { return r.WriteJSON(b) }},
		{"empty.txt", &Result{Columns: []Column{{"n", "UInt64"}, {"name", "String"}}}, func(r *Result, b *bytes.Buffer) error { return r.WriteTable(b) }},
		{"empty.json", &Result{Columns: []Column{{"n", "UInt64"}}}, func(r *Result, b *bytes.Buffer) error { return r.WriteJSON(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.write(tt.res, &buf); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name)
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestWriteGolden -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("output differs from %s:\n%s\nwant:\n%s", golden, buf.Bytes(), want)
			}
			if filepath.Ext(tt.name) == ".json" {
				var rows []map[string]any
				if err := json.Unmarshal(buf.Bytes(), &rows); err != nil || len(rows) != len(tt.res.Rows) {
					t.Errorf("WriteJSON output does not decode to %d objects: %v", len(tt.res.Rows), err)
				}
			}
		})
	}
}
