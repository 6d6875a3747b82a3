package store

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/driftline/driftline/infra/clickhouse/migrations"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want []string
	}{
		{"one, no terminator", "SELECT 1", []string{"SELECT 1"}},
		{"two", "CREATE TABLE a (x UInt8)\nENGINE = Memory;\n\nSELECT 2;\n", []string{"CREATE TABLE a (x UInt8)\nENGINE = Memory", "SELECT 2"}},
		{"comment lines dropped", "-- header; with a semicolon;\nSELECT 1; \n  -- trailing;\n", []string{"SELECT 1"}},
		{"semicolon inside a line does not split", "SELECT 'a;b' AS s,\n  2;\n", []string{"SELECT 'a;b' AS s,\n  2"}},
		{"CRLF", "SELECT 1;\r\nSELECT 2;\r\n", []string{"SELECT 1", "SELECT 2"}},
		{"only comments", "-- nothing\n\n", nil},
	}
	for _, tt := range tests {
		if got := splitStatements(tt.sql); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: splitStatements(%q) = %q; want %q", tt.name, tt.sql, got, tt.want)
		}
	}
}

func TestForCluster(t *testing.T) {
	const rp = `'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`
	tests := []struct {
		name, stmt, want string
	}{
		{"ReplacingMergeTree with version",
			"CREATE TABLE IF NOT EXISTS metrics\n(\n    revision UInt32\n)\nENGINE = ReplacingMergeTree(revision)\nORDER BY revision",
			"CREATE TABLE IF NOT EXISTS metrics ON CLUSTER `main`\n(\n    revision UInt32\n)\nENGINE = ReplicatedReplacingMergeTree(" + rp + ", revision)\nORDER BY revision"},
		{"bare MergeTree",
			"CREATE TABLE labels (x UInt8) ENGINE = MergeTree ORDER BY x",
			"CREATE TABLE labels ON CLUSTER `main` (x UInt8) ENGINE = ReplicatedMergeTree(" + rp + ") ORDER BY x"},
		{"MergeTree()",
			"create table db.t (x UInt8) engine=MergeTree() order by x",
			"create table db.t ON CLUSTER `main` (x UInt8) engine=ReplicatedMergeTree(" + rp + ") order by x"},
		{"quoted names",
			"CREATE TABLE IF NOT EXISTS `my db`.`t-1` (x UInt8) ENGINE = SummingMergeTree((a, b)) ORDER BY x",
			"CREATE TABLE IF NOT EXISTS `my db`.`t-1` ON CLUSTER `main` (x UInt8) ENGINE = ReplicatedSummingMergeTree(" + rp + ", (a, b)) ORDER BY x"},
		{"already replicated",
			"CREATE TABLE t (x UInt8) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY x",
			"CREATE TABLE t ON CLUSTER `main` (x UInt8) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY x"},
		{"view",
			"CREATE VIEW IF NOT EXISTS metrics_latest AS\nSELECT * FROM metrics",
			"CREATE VIEW IF NOT EXISTS metrics_latest ON CLUSTER `main` AS\nSELECT * FROM metrics"},
		{"materialized view with its own engine",
			"CREATE MATERIALIZED VIEW mv ENGINE = AggregatingMergeTree ORDER BY k AS SELECT k FROM t",
			"CREATE MATERIALIZED VIEW mv ON CLUSTER `main` ENGINE = ReplicatedAggregatingMergeTree(" + rp + ") ORDER BY k AS SELECT k FROM t"},
		{"alter", "ALTER TABLE metrics ADD COLUMN IF NOT EXISTS note String",
			"ALTER TABLE metrics ON CLUSTER `main` ADD COLUMN IF NOT EXISTS note String"},
		{"drop", "DROP TABLE IF EXISTS old", "DROP TABLE IF EXISTS old ON CLUSTER `main`"},
		{"explicit ON CLUSTER kept", "ALTER TABLE t ON CLUSTER other DELETE WHERE 1", "ALTER TABLE t ON CLUSTER other DELETE WHERE 1"},
		{"not DDL", "INSERT INTO t SELECT * FROM u", "INSERT INTO t SELECT * FROM u"},
		{"MergeTree in a string of a non-DDL statement", "SELECT 'ENGINE = MergeTree'", "SELECT 'ENGINE = MergeTree'"},
	}
	for _, tt := range tests {
		if got := forCluster(tt.stmt, "main"); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
		if got := forCluster(tt.stmt, ""); got != tt.stmt {
			t.Errorf("%s: without a cluster the statement changed: %s", tt.name, got)
		}
	}
}

// TestForClusterMigrations rewrites the real migration files: every
// statement runs on the cluster and no table stays unreplicated.
func TestForClusterMigrations(t *testing.T) {
	all, err := loadMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	plainEngine := regexp.MustCompile(`(?i)ENGINE\s*=\s*(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing)?MergeTree\b`)
	for _, m := range all {
		for i, stmt := range m.statements {
			got := forCluster(stmt, "driftline")
			if !strings.Contains(got, " ON CLUSTER `driftline`") {
				t.Errorf("%s statement %d has no ON CLUSTER:\n%s", m.file, i+1, got)
			}
			if plainEngine.MatchString(got) {
				t.Errorf("%s statement %d keeps an unreplicated engine:\n%s", m.file, i+1, got)
			}
			if strings.Contains(stmt, "ENGINE") && !strings.Contains(got, "ENGINE = Replicated") {
				t.Errorf("%s statement %d: engine not rewritten:\n%s", m.file, i+1, got)
			}
		}
	}
}
