package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/driftline/driftline/infra/clickhouse/migrations"
)

// migration is one NNNN_name.sql file.
type migration struct {
	version    uint32
	file       string
	checksum   string // sha256 of the file, hex
	statements []string
}

var migrationFile = regexp.MustCompile(`^(\d+)_[A-Za-z0-9_]+\.sql$`)

// Migrate applies Driftline's schema migrations that st has not applied
// yet, in order, and returns the files it applied. Each applied file is
// recorded in schema_migrations with its checksum; Migrate refuses to run
// if an applied file has changed since, or if the database knows a version
// this binary has no file for (an older binary on a newer schema).
//
// With cluster set, every DDL statement runs ON CLUSTER cluster and the
// MergeTree engines become their Replicated forms. A migration is recorded
// after its last statement succeeded, so statements must be idempotent (IF
// NOT EXISTS) to be re-run after a failure. Run one Migrate at a time.
func Migrate(ctx context.Context, st Store, cluster string) (applied []string, err error) {
	return migrate(ctx, st, cluster, migrations.FS)
}

func migrate(ctx context.Context, st Store, cluster string, fsys fs.FS) ([]string, error) {
	all, err := loadMigrations(fsys)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	create := "CREATE TABLE IF NOT EXISTS schema_migrations\n(\n" +
		"    version    UInt32,\n" +
		"    name       String,\n" +
		"    checksum   String,\n" +
		"    applied_at DateTime64(3, 'UTC')\n" +
		")\nENGINE = MergeTree\nORDER BY version"
	if err := st.Exec(ctx, forCluster(create, cluster)); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	res, err := st.Query(ctx, "SELECT version, name, checksum FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	byVersion := map[uint32]migration{}
	for _, m := range all {
		byVersion[m.version] = m
	}
	done := map[uint32]bool{}
	for _, row := range res.Rows {
		v, _ := row[0].(uint64)
		name, _ := row[1].(string)
		sum, _ := row[2].(string)
		m, ok := byVersion[uint32(v)]
		switch {
		case !ok:
			return nil, fmt.Errorf("migrate: the database has migration %d (%s) applied, which this binary does not know; is it older than the schema?", v, name)
		case m.checksum != sum:
			return nil, fmt.Errorf("migrate: %s was changed after it was applied (checksum %.12s…, applied %.12s…); add a new migration instead of editing an applied one", m.file, m.checksum, sum)
		}
		done[uint32(v)] = true
	}

	var applied []string
	for _, m := range all {
		if done[m.version] {
			continue
		}
		for i, stmt := range m.statements {
			if err := st.Exec(ctx, forCluster(stmt, cluster)); err != nil {
				return applied, fmt.Errorf("migrate: %s, statement %d: %w", m.file, i+1, err)
			}
		}
		row := Row{"version": m.version, "name": m.file, "checksum": m.checksum, "applied_at": time.Now().UTC()}
		if err := st.Insert(ctx, "schema_migrations", "migration-"+m.file+"-"+m.checksum, []Row{row}); err != nil {
			return applied, fmt.Errorf("migrate: record %s: %w", m.file, err)
		}
		applied = append(applied, m.file)
	}
	return applied, nil
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var all []migration
	seen := map[uint32]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("%s: want a name like 0001_description.sql", e.Name())
		}
		v, err := strconv.ParseUint(m[1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: version: %w", e.Name(), err)
		}
		if other, dup := seen[uint32(v)]; dup {
			return nil, fmt.Errorf("%s and %s have the same version %d", other, e.Name(), v)
		}
		seen[uint32(v)] = e.Name()
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		stmts := splitStatements(string(body))
		if len(stmts) == 0 {
			return nil, fmt.Errorf("%s holds no statement", e.Name())
		}
		all = append(all, migration{version: uint32(v), file: e.Name(), checksum: hex.EncodeToString(sum[:]), statements: stmts})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].version < all[j].version })
	return all, nil
}

// splitStatements splits a migration file into statements: a statement ends
// with a semicolon at the end of a line, and lines starting with -- are
// comments. Semicolons elsewhere (inside a string, say) do not split.
func splitStatements(sql string) []string {
	var stmts []string
	var cur []string
	flush := func() {
		if s := strings.TrimSpace(strings.Join(cur, "\n")); s != "" {
			stmts = append(stmts, s)
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		if strings.HasSuffix(trimmed, ";") {
			cur = append(cur, strings.TrimSuffix(strings.TrimRight(line, " \t\r"), ";"))
			flush()
			continue
		}
		cur = append(cur, strings.TrimRight(line, "\r"))
	}
	flush()
	return stmts
}

var (
	// ddlTarget matches the start of a DDL statement up to the name of the
	// object it acts on, after which ON CLUSTER goes.
	ident     = "(?:`(?:[^`\\\\]|\\\\.)*`|\"(?:[^\"\\\\]|\\\\.)*\"|[A-Za-z_][A-Za-z0-9_]*)"
	ddlTarget = regexp.MustCompile(`(?is)^(\s*(?:` +
		`CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?(?:TABLE|(?:MATERIALIZED\s+)?VIEW|DICTIONARY|DATABASE)` +
		`|ALTER\s+TABLE|DROP\s+(?:TABLE|VIEW|DICTIONARY|DATABASE)|TRUNCATE\s+TABLE|OPTIMIZE\s+TABLE` +
		`)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?` + ident + `(?:\s*\.\s*` + ident + `)?)`)
	onCluster = regexp.MustCompile(`(?i)\bON\s+CLUSTER\b`)
	// mergeTree matches a non-replicated MergeTree family engine up to its
	// arguments, if any.
	mergeTree = regexp.MustCompile(`(?i)(\bENGINE\s*=\s*)(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing|Graphite|Coalescing)?MergeTree\b`)
)

// replicaPath is where Replicated tables keep their state in ZooKeeper or
// ClickHouse Keeper; {shard} and {replica} are the servers' macros.
const replicaPath = `'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`

// forCluster rewrites one statement to run on every server of cluster: DDL
// gets ON CLUSTER after the name of its object, and a MergeTree family
// engine becomes its Replicated form, with the replica path first among its
// arguments. Other statements, and any with cluster "", are returned as
// they are.
func forCluster(stmt, cluster string) string {
	if cluster == "" {
		return stmt
	}
	loc := ddlTarget.FindStringIndex(stmt)
	if loc == nil {
		return stmt
	}
	if !onCluster.MatchString(stmt) {
		stmt = stmt[:loc[1]] + " ON CLUSTER " + quoteIdent(cluster) + stmt[loc[1]:]
	}
	var b strings.Builder
	for {
		m := mergeTree.FindStringSubmatchIndex(stmt)
		if m == nil {
			b.WriteString(stmt)
			return b.String()
		}
		args := replicaPath
		end := m[1]
		if open := skipBlank(stmt, end); open < len(stmt) && stmt[open] == '(' {
			close := matchingParen(stmt, open)
			if close < 0 {
				b.WriteString(stmt) // unbalanced: leave it for the server to reject
				return b.String()
			}
			if a := strings.TrimSpace(stmt[open+1 : close]); a != "" {
				args += ", " + a
			}
			end = close + 1
		}
		b.WriteString(stmt[:m[0]])
		b.WriteString(stmt[m[2]:m[3]] + "Replicated")
		if m[4] >= 0 {
			b.WriteString(stmt[m[4]:m[5]])
		}
		b.WriteString("MergeTree(" + args + ")")
		stmt = stmt[end:]
	}
}

func skipBlank(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// matchingParen returns the index of the ')' closing s[open], or -1.
func matchingParen(s string, open int) int {
	depth := 0
	var quote byte
	for i := open; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
