package main

import (
	"context"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/infra/clickhouse/migrations"
	"github.com/driftline/driftline/services/store"
)

// sql prints a query's rows from a migrated store, as a table or as JSON.
func TestSQL(t *testing.T) {
	at := time.Date(2026, 3, 4, 10, 5, 0, 0, time.UTC)
	dir := migratedStore(t, func(ctx context.Context, st store.Store) error {
		return st.Insert(ctx, "triggers", "", []store.Row{
			{"trigger_id": "t-1", "model_id": "churn-model", "model_version": "v1", "policy": "default-drift", "action": "retrain",
				"severity": "high", "evidence": `[{"Feature":"income"}]`, "created_at": at, "cooldown_until": at.Add(24 * time.Hour)},
			{"trigger_id": "t-2", "model_id": "fraud", "model_version": "v7", "policy": "accuracy-floor", "action": "rollback",
				"severity": "critical", "evidence": "[]", "created_at": at.Add(5 * time.Minute), "cooldown_until": at.Add(5*time.Minute + time.Hour)},
		})
	})
	dsn := "chdb://" + dir
	query := "SELECT trigger_id, model_id, action, severity, created_at, dateDiff('minute', created_at, cooldown_until) AS cooldown_min FROM triggers ORDER BY created_at"
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"table by default", []string{"sql", "--store", dsn, query}, "sql_table.txt"},
		{"table", []string{"sql", "--store", dsn, "--format", "table", query}, "sql_table.txt"},
		{"json", []string{"sql", "--store", dsn, "--format", "json", query}, "sql.json"},
		// The query may come in several arguments, as a shell splits it.
		{"split query", append([]string{"sql", "--store", dsn, "--format", "json"}, strings.Fields(query)...), "sql.json"},
		{"no rows", []string{"sql", "--store", dsn, "SELECT trigger_id FROM triggers WHERE model_id = 'none'"}, "sql_empty.txt"},
		// Flags after the query, as people type them.
		{"flags after the query", []string{"sql", query, "--format", "json", "--store=" + dsn}, "sql.json"},
		{"flag between words", append(append([]string{"sql", "--store", dsn}, strings.Fields(query)[:3]...),
			append([]string{"-format=json"}, strings.Fields(query)[3:]...)...), "sql.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runCmd(t, tt.args...)
			if err != nil {
				t.Fatalf("%v (stderr %q)", err, stderr)
			}
			golden(t, tt.golden, stdout)
		})
	}
	t.Run("bad query", func(t *testing.T) {
		_, _, err := runCmd(t, "sql", "--store", dsn, "SELECT nope FROM no_such_table")
		if err == nil || !strings.Contains(err.Error(), "no_such_table") {
			t.Errorf("err = %v, want the engine's error naming no_such_table", err)
		}
	})
}

// migrate applies every migration once, in order, and then finds nothing
// left to do.
func TestMigrate(t *testing.T) {
	needChDB(t)
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	var first strings.Builder
	for _, f := range files {
		first.WriteString("applied " + f + "\n")
	}
	dsn := "chdb://" + t.TempDir()
	for i, want := range []string{first.String(), "schema is up to date\n", "schema is up to date\n"} {
		stdout, stderr, err := runCmd(t, "migrate", "--store", dsn)
		if err != nil {
			t.Fatalf("run %d: %v (stderr %q)", i+1, err, stderr)
		}
		if stdout != want {
			t.Errorf("run %d printed %q, want %q", i+1, stdout, want)
		}
	}
	// The tables exist: sql can read the migration log.
	stdout, _, err := runCmd(t, "sql", "--store", dsn, "--format", "json", "SELECT count() AS n FROM schema_migrations")
	if err != nil {
		t.Fatal(err)
	}
	if want := "[\n{\"n\":" + strconv.Itoa(len(files)) + "}\n]\n"; stdout != want {
		t.Errorf("schema_migrations count: %q, want %q", stdout, want)
	}
}
