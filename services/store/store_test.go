package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/driftline/driftline/infra/clickhouse/migrations"
	"github.com/driftline/driftline/services/chdb"
)

// envServerDSN points the server tests at a ClickHouse server they may
// create and drop databases on.
const envServerDSN = "DRIFTLINE_CLICKHOUSE_DSN"

func TestMain(m *testing.M) {
	// The embedded engine is the store's default and what these tests
	// exercise: without it they fail rather than skip and pass.
	if _, err := chdb.LibraryPath(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// opener opens a fresh, empty store for one test; reopen opens the same one
// again after the first was closed.
type opener func(t *testing.T) (st Store, reopen func() Store)

func embeddedOpener(t *testing.T) (Store, func() Store) {
	t.Helper()
	dsn := "chdb://" + t.TempDir()
	open := func() Store {
		st, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return open(), open
}

// serverOpener gives each test its own database on the server named by
// DRIFTLINE_CLICKHOUSE_DSN, dropped afterwards.
func serverOpener(dsn string) opener {
	return func(t *testing.T) (Store, func() Store) {
		t.Helper()
		ctx := context.Background()
		admin, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Close() })
		var rnd [6]byte
		_, _ = rand.Read(rnd[:])
		db := "driftline_test_" + hex.EncodeToString(rnd[:])
		if err := admin.Exec(ctx, "CREATE DATABASE "+quoteIdent(db)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db)) })
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + db
		open := func() Store {
			st, err := Open(ctx, u.String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		return open(), open
	}
}

func TestEmbedded(t *testing.T) { testStore(t, embeddedOpener) }

func TestClickHouseServer(t *testing.T) {
	dsn := os.Getenv(envServerDSN)
	if dsn == "" {
		t.Skipf("%s is not set: no ClickHouse server is reachable, so the clickhouse-go store is tested only through its conversions (convert_test.go); set it to e.g. clickhouse://default:@127.0.0.1:9000/default", envServerDSN)
	}
	testStore(t, serverOpener(dsn))
}

// testStore runs the same checks on either store, so that callers see no
// difference between them.
func testStore(t *testing.T, open opener) {
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, open) })
	t.Run("Dedup", func(t *testing.T) { testDedup(t, open) })
	t.Run("Types", func(t *testing.T) { testTypes(t, open) })
	t.Run("Rejects", func(t *testing.T) { testRejects(t, open) })
	t.Run("MetricsLatest", func(t *testing.T) { testMetricsLatest(t, open) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, open) })
	t.Run("SchemaChange", func(t *testing.T) { testSchemaChange(t, open) })
	t.Run("Progress", func(t *testing.T) { testProgress(t, open) })
}

// testSchemaChange: a column another process adds is found by an Insert
// that had described the table before.
func testSchemaChange(t *testing.T, open opener) {
	st, reopen := open(t)
	other := reopen() // a second store on the same database, open at once
	ctx := context.Background()
	if err := st.Exec(ctx, "CREATE TABLE t (id String) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	if err := st.Insert(ctx, "t", "", []Row{{"id": "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := other.Exec(ctx, "ALTER TABLE t ADD COLUMN n UInt8"); err != nil {
		t.Fatal(err)
	}
	if err := st.Insert(ctx, "t", "", []Row{{"id": "b", "n": 5}}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, other, "SELECT sum(n) FROM t"); n != 5 {
		t.Fatalf("sum(n) = %d; want 5", n)
	}
}

func mustMigrate(t *testing.T, st Store) {
	t.Helper()
	if _, err := Migrate(context.Background(), st, ""); err != nil {
		t.Fatal(err)
	}
}

func query(t *testing.T, st Store, q string) *Result {
	t.Helper()
	res, err := st.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func count(t *testing.T, st Store, q string) uint64 {
	t.Helper()
	res := query(t, st, q)
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		t.Fatalf("%s: %d rows; want one count", q, len(res.Rows))
	}
	n, ok := res.Rows[0][0].(uint64)
	if !ok {
		t.Fatalf("%s: count is %T; want uint64", q, res.Rows[0][0])
	}
	return n
}

func testMigrate(t *testing.T, open opener) {
	st, _ := open(t)
	ctx := context.Background()
	init, err := fs.ReadFile(migrations.FS, "0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name        string
		fsys        fs.FS
		wantApplied []string
		wantErr     string
	}{
		// The project's first migration alone, so later ones can be added
		// without changing this test; mustMigrate applies them all.
		{name: "first run", fsys: fstest.MapFS{"0001_init.sql": {Data: init}}, wantApplied: []string{"0001_init.sql"}},
		{name: "second run", fsys: fstest.MapFS{"0001_init.sql": {Data: init}}, wantApplied: nil},
		{name: "edited after applying", fsys: fstest.MapFS{
			"0001_init.sql": {Data: append([]byte("-- an edit\n"), init...)},
		}, wantErr: "0001_init.sql was changed after it was applied"},
		{name: "a new file", fsys: fstest.MapFS{
			"0001_init.sql":  {Data: init},
			"0002_extra.sql": {Data: []byte("-- two statements\nCREATE TABLE IF NOT EXISTS extra (x UInt8)\nENGINE = MergeTree ORDER BY x;\nALTER TABLE extra ADD COLUMN IF NOT EXISTS y String;\n")},
		}, wantApplied: []string{"0002_extra.sql"}},
		{name: "binary older than the schema", fsys: fstest.MapFS{
			"0001_init.sql": {Data: init},
		}, wantErr: "migration 2 (0002_extra.sql) applied, which this binary does not know"},
	}
	for _, s := range steps {
		applied, err := migrate(ctx, st, "", s.fsys)
		if s.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), s.wantErr) {
				t.Fatalf("%s: err = %v; want it to contain %q", s.name, err, s.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !reflect.DeepEqual(applied, s.wantApplied) {
			t.Fatalf("%s: applied %q; want %q", s.name, applied, s.wantApplied)
		}
	}
	res := query(t, st, "SELECT version, name, length(checksum), applied_at > now() - INTERVAL 1 HOUR FROM schema_migrations ORDER BY version")
	want := [][]any{{uint64(1), "0001_init.sql", uint64(64), uint64(1)}, {uint64(2), "0002_extra.sql", uint64(64), uint64(1)}}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Fatalf("schema_migrations = %v; want %v", res.Rows, want)
	}
	if n := count(t, st, "SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = 'extra'"); n != 2 {
		t.Fatalf("extra has %d columns; want both statements of 0002 applied", n)
	}
}

func predictionRows(n int, base time.Time) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{
			"event_id":   fmt.Sprintf("e%d", i),
			"request_id": fmt.Sprintf("r%d", i),
			"model_id":   "churn",
			"variant":    "production",
			"event_time": base.Add(time.Duration(i) * time.Millisecond),
			"latency_ms": 1.5,
			"segments":   map[string]string{"region": "eu"},
		}
	}
	return rows
}

func testDedup(t *testing.T, open opener) {
	st, _ := open(t)
	mustMigrate(t, st)
	ctx := context.Background()
	rows := predictionRows(3, time.Now().UTC())
	steps := []struct {
		token string
		want  uint64
	}{
		{"inferences/0/100-102", 3},
		{"inferences/0/100-102", 3}, // a retry: absorbed
		{"inferences/0/103-105", 6}, // same rows, another offset range: stored
		{`it's \ a token`, 9},
		{`it's \ a token`, 9},
	}
	for i, s := range steps {
		if err := st.Insert(ctx, "predictions", s.token, rows); err != nil {
			t.Fatal(err)
		}
		if got := count(t, st, "SELECT count() FROM predictions"); got != s.want {
			t.Fatalf("insert %d (token %q): %d rows; want %d", i, s.token, got, s.want)
		}
	}
}

func testTypes(t *testing.T, open opener) {
	st, _ := open(t)
	mustMigrate(t, st)
	ctx := context.Background()
	start := time.Now().UTC().Truncate(time.Hour)
	computed := time.Now().UTC().Truncate(time.Millisecond)
	if err := st.Insert(ctx, "metrics", "", []Row{{
		"model_id": "churn", "model_version": "7", "variant": "production", "segment": "",
		"window_start": start, "window_end": start.Add(5 * time.Minute),
		"family": "drift", "feature": "age", "metric": "psi",
		"value": 0.25, "threshold": 0.2, "p_value": nil, "detected": true,
		"sample_count": uint64(math.MaxUint64), "reference_count": int64(1000),
		"reference_id": "ref-1", "computed_at": computed.Add(123456 * time.Nanosecond), "revision": uint32(3),
	}}); err != nil {
		t.Fatal(err)
	}
	res := query(t, st, "SELECT model_id, window_start, value, threshold, p_value, detected, sample_count, reference_count, computed_at, revision FROM metrics")
	wantCols := []Column{
		{"model_id", "LowCardinality(String)"}, {"window_start", "DateTime64(3, 'UTC')"}, {"value", "Float64"},
		{"threshold", "Nullable(Float64)"}, {"p_value", "Nullable(Float64)"}, {"detected", "Bool"},
		{"sample_count", "UInt64"}, {"reference_count", "UInt64"}, {"computed_at", "DateTime64(3, 'UTC')"}, {"revision", "UInt32"},
	}
	wantRows := [][]any{{"churn", start, 0.25, 0.2, nil, true, uint64(math.MaxUint64), uint64(1000), computed, uint64(3)}}
	if !reflect.DeepEqual(res.Columns, wantCols) {
		t.Errorf("columns = %v;\nwant %v", res.Columns, wantCols)
	}
	if !reflect.DeepEqual(res.Rows, wantRows) {
		t.Errorf("rows = %#v;\nwant %#v", res.Rows, wantRows)
	}

	// Bytes that are not UTF-8 survive; maps come back as maps.
	original := []byte{0x00, 0xff, 'a', '"', '\\', '\n', 0xc3}
	received := time.Now().UTC().Truncate(time.Millisecond)
	if err := st.Insert(ctx, "deadletters", "dl-1", []Row{{
		"received_at": received, "source_topic": "driftline.raw.x", "source_partition": int32(-1),
		"source_offset": int64(math.MinInt64), "stage": "adapter", "error_class": "parse",
		"error_message": "bad", "original": original, "headers": map[string]string{"k": "v\x00", "": ""},
	}}); err != nil {
		t.Fatal(err)
	}
	res = query(t, st, "SELECT received_at, source_partition, source_offset, original, headers, hex(original) FROM deadletters")
	wantRows = [][]any{{received, int64(-1), int64(math.MinInt64), string(original), map[string]string{"k": "v\x00", "": ""}, "00FF61225C0AC3"}}
	if !reflect.DeepEqual(res.Rows, wantRows) {
		t.Errorf("rows = %#v;\nwant %#v", res.Rows, wantRows)
	}

	// Literals of the types analysts meet.
	res = query(t, st, `SELECT toInt8(-8) i8, toUInt16(16) u16, toFloat32(0.5) f32, inf AS pinf, -inf AS ninf,
		toDecimal64(1.25, 2) dec, toInt128('-170141183460469231731687303715884105728') i128,
		toUUID('00000000-0000-0000-0000-00000000000a') uuid, toDate('2026-01-02') d, toDateTime('2026-01-02 03:04:05', 'Asia/Tokyo') dt,
		[1, 2] arr, tuple(1, 'a') tup, map(1, 'x') m, CAST(NULL, 'Nullable(String)') n, toLowCardinality(toNullable('lc')) lcn`)
	wantRows = [][]any{{int64(-8), uint64(16), 0.5, math.Inf(1), math.Inf(-1),
		"1.25", "-170141183460469231731687303715884105728",
		"00000000-0000-0000-0000-00000000000a", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 18, 4, 5, 0, time.UTC),
		[]any{uint64(1), uint64(2)}, []any{uint64(1), "a"}, map[string]any{"1": "x"}, nil, "lc"}}
	if !reflect.DeepEqual(res.Rows, wantRows) {
		t.Errorf("rows = %#v;\nwant %#v", res.Rows, wantRows)
	}
	// Every column type Insert converts, written and read back.
	if err := st.Exec(ctx, `CREATE TABLE all_types (k UInt8, i8 Int8, u16 UInt16, f32 Float32, dec Decimal(18, 2),
		i128 Int128, uuid UUID, ip IPv4, e Enum8('a' = 1, 'b' = 2), fs FixedString(3), d Date, dt DateTime('Asia/Tokyo'),
		dt6 DateTime64(6, 'UTC'), n Nullable(String), lc LowCardinality(String), m Map(String, String)) ENGINE = MergeTree ORDER BY k`); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := st.Insert(ctx, "all_types", "", []Row{{
		"k": uint32(1), "i8": int64(-128), "u16": uint32(65535), "f32": 0.5, "dec": "-12.34",
		"i128": "-170141183460469231731687303715884105728", "uuid": "00000000-0000-0000-0000-00000000000a",
		"ip": "10.1.2.3", "e": "b", "fs": "abc", "d": at, "dt": at, "dt6": at.Add(123456 * time.Microsecond),
		"n": "x", "lc": "low", "m": map[string]string{"a": "1"},
	}, {"k": uint32(2)}}); err != nil {
		t.Fatal(err)
	}
	res = query(t, st, "SELECT * EXCEPT k FROM all_types ORDER BY k")
	wantRows = [][]any{
		{int64(-128), uint64(65535), 0.5, "-12.34", "-170141183460469231731687303715884105728",
			"00000000-0000-0000-0000-00000000000a", "10.1.2.3", "b", "abc", time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), at,
			at.Add(123456 * time.Microsecond), "x", "low", map[string]string{"a": "1"}},
		{int64(0), uint64(0), 0.0, "0", "0", "00000000-0000-0000-0000-000000000000", "0.0.0.0", "a", "\x00\x00\x00",
			time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC(), nil, "", map[string]string{}},
	}
	if !reflect.DeepEqual(res.Rows, wantRows) {
		t.Errorf("all_types = %#v;\nwant %#v", res.Rows, wantRows)
	}
	// The zero values Insert fills in for row 2 are the table's own
	// defaults, which a row naming no other column gets from the server.
	if err := st.Insert(ctx, "all_types", "", []Row{{"k": uint32(3)}}); err != nil {
		t.Fatal(err)
	}
	res = query(t, st, "SELECT * EXCEPT k FROM all_types WHERE k = 3")
	if len(res.Rows) != 1 || !reflect.DeepEqual(res.Rows[0], wantRows[1]) {
		t.Errorf("server defaults = %#v;\nInsert's zero values %#v", res.Rows, wantRows[1])
	}

	if res := query(t, st, "SELECT 1 AS one WHERE 0"); len(res.Rows) != 0 || len(res.Columns) != 1 {
		t.Errorf("empty result = %+v; want one column, no rows", res)
	}
}

func testRejects(t *testing.T, open opener) {
	st, _ := open(t)
	mustMigrate(t, st)
	ctx := context.Background()
	if err := st.Exec(ctx, "CREATE TABLE with_default (id String, at DateTime DEFAULT now(), n UInt8) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		table   string
		rows    []Row
		wantErr string
	}{
		{"unknown column", "metrics", []Row{{"modle_id": "x"}}, `unknown column "modle_id"`},
		{"negative into UInt32", "metrics", []Row{{"revision": int64(-1)}}, "-1 is out of range for UInt32"},
		{"too large for UInt32", "metrics", []Row{{"revision": uint64(1) << 32}}, "4294967296 is out of range for UInt32"},
		{"too large for Int32", "deadletters", []Row{{"source_partition": int64(math.MaxInt32) + 1}}, "out of range for Int32"},
		{"string into Float64", "metrics", []Row{{"value": "0.5"}}, "string value for a Float64 column"},
		{"int into Bool", "metrics", []Row{{"detected": 1}}, "int value for a Bool column"},
		{"map of any", "predictions", []Row{{"segments": map[string]any{"a": "b"}}}, "map[string]interface {} value for a Map(String, String) column"},
		{"DEFAULT expression omitted by some rows", "with_default", []Row{{"id": "a", "at": time.Now()}, {"id": "b"}}, "omits column at, whose default is the expression now()"},
		{"missing table", "no_such_table", []Row{{"x": 1}}, "no_such_table"},
		{"bad table name", "a.b.c", []Row{{"x": 1}}, "insert into a.b.c"},
	}
	for _, tt := range tests {
		err := st.Insert(ctx, tt.table, "", tt.rows)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "insert into "+tt.table) {
			t.Errorf("%s: Insert(%s, %v) = %v; want an error about %q", tt.name, tt.table, tt.rows, err, tt.wantErr)
		}
	}
	// A column no row names takes its DEFAULT, whatever it is; nil in a
	// non-Nullable column is its type's zero value, as if omitted.
	if err := st.Insert(ctx, "with_default", "", []Row{{"id": "c", "n": nil}, {"id": "d", "n": 7}}); err != nil {
		t.Fatal(err)
	}
	res := query(t, st, "SELECT id, n, at > now() - INTERVAL 1 HOUR FROM with_default ORDER BY id")
	if want := [][]any{{"c", uint64(0), uint64(1)}, {"d", uint64(7), uint64(1)}}; !reflect.DeepEqual(res.Rows, want) {
		t.Fatalf("with_default = %v; want %v", res.Rows, want)
	}
}

func testMetricsLatest(t *testing.T, open opener) {
	st, _ := open(t)
	mustMigrate(t, st)
	ctx := context.Background()
	start := time.Now().UTC().Truncate(time.Hour)
	metric := func(feature string, revision uint32, value float64) Row {
		return Row{"model_id": "churn", "family": "drift", "metric": "psi", "feature": feature,
			"window_start": start, "window_end": start.Add(5 * time.Minute), "value": value, "revision": revision}
	}
	// Separate inserts, as late events re-emit a window.
	for i, r := range []Row{metric("age", 0, 0.1), metric("age", 2, 0.3), metric("age", 1, 0.2), metric("income", 0, 0.5)} {
		if err := st.Insert(ctx, "metrics", fmt.Sprintf("w-%d", i), []Row{r}); err != nil {
			t.Fatal(err)
		}
	}
	res := query(t, st, "SELECT feature, revision, value FROM metrics_latest ORDER BY feature")
	want := [][]any{{"age", uint64(2), 0.3}, {"income", uint64(0), 0.5}}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Fatalf("metrics_latest = %v; want %v", res.Rows, want)
	}
}

func testReopen(t *testing.T, open opener) {
	st, reopen := open(t)
	mustMigrate(t, st)
	if err := st.Insert(context.Background(), "predictions", "t", predictionRows(5, time.Now().UTC())); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = reopen()
	if n := count(t, st, "SELECT count() FROM predictions"); n != 5 {
		t.Fatalf("after reopening: %d rows; want 5", n)
	}
	if applied, err := Migrate(context.Background(), st, ""); err != nil || len(applied) != 0 {
		t.Fatalf("Migrate after reopening = %v, %v; want nothing to apply", applied, err)
	}
}

func TestOpen(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		dsn     string
		wantErr string // "" means Open succeeds
	}{
		{dsn: "chdb://data/chdb"}, // relative to the working directory
		{dsn: "postgres://driftline:s3cret@db:5432/x", wantErr: `unsupported DSN scheme "postgres"`},
		{dsn: "driftline:s3cret@localhost", wantErr: "DSN has no scheme"},
		{dsn: "chdb://", wantErr: "names no directory"},
		{dsn: "clickhouse://driftline:s3cret@127.0.0.1:1/db?dial_timeout=2s", wantErr: "no ClickHouse server reachable at clickhouse://driftline:xxxxx@127.0.0.1:1/db"},
		{dsn: "clickhouse://driftline:s3cret@127.0.0.1:1/db?dial_timeout=soon", wantErr: "clickhouse://driftline:xxxxx@"},
	}
	for _, tt := range tests {
		st, err := Open(context.Background(), tt.dsn)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("Open(%q): %v", tt.dsn, err)
				continue
			}
			if _, err := os.Stat(filepath.Join("data", "chdb", "status")); err != nil {
				t.Errorf("Open(%q) did not put the data under the working directory: %v", tt.dsn, err)
			}
			st.Close()
			continue
		}
		if err == nil {
			st.Close()
			t.Errorf("Open(%q) succeeded; want an error containing %q", tt.dsn, tt.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v; want an error containing %q and no password", tt.dsn, err, tt.wantErr)
		}
	}
}
