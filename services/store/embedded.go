package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/driftline/driftline/services/chdb"
)

// embedded is the Store on chDB, the ClickHouse engine inside this process.
// The engine cannot be interrupted once a statement runs, so ctx is only
// checked before each one.
type embedded struct {
	conn    *chdb.Conn
	loc     *time.Location // the engine's time zone, for DateTime columns without one
	schemas schemaCache
}

// embeddedSettings are session settings the decoder relies on: 64-bit
// integers as JSON numbers, NaN and infinities as "nan"/"inf" strings, bytes
// passed through. Unknown keys in inserted rows are errors, as they are for
// clickhouse-go, not silently dropped.
const embeddedSettings = "SET output_format_json_quote_64bit_integers = 0, " +
	"output_format_json_quote_denormals = 1, " +
	"output_format_json_validate_utf8 = 0, " +
	"input_format_skip_unknown_fields = 0"

// resultFormat is what the embedded store asks the engine for; see
// decodeEachRow for why not JSONCompact.
const resultFormat = "JSONCompactEachRowWithNamesAndTypes"

func openEmbedded(ctx context.Context, dir string) (*embedded, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	conn, err := chdb.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &embedded{conn: conn, loc: time.UTC}
	if _, err := conn.Query(embeddedSettings, "Null"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: configure chDB session: %w", err)
	}
	res, err := s.Query(ctx, "SELECT timezone()")
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: read chDB time zone: %w", err)
	}
	if len(res.Rows) == 1 {
		tz, _ := res.Rows[0][0].(string)
		if s.loc, err = loadLocation(tz); err != nil {
			conn.Close()
			return nil, fmt.Errorf("store: chDB time zone %q: %w", tz, err)
		}
	}
	return s, nil
}

func (s *embedded) Exec(ctx context.Context, query string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// DDL may have changed a table Insert has described.
	s.schemas.reset()
	if _, err := s.conn.Query(query, "Null"); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}

func (s *embedded) Query(ctx context.Context, query string) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := s.conn.Query(query, resultFormat)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	res, err := decodeEachRow(out, s.loc)
	if err != nil {
		return nil, fmt.Errorf("query: reading the engine's %s output (is it one statement, without a FORMAT clause?): %w", resultFormat, err)
	}
	return res, nil
}

func (s *embedded) Insert(ctx context.Context, table, token string, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	cols, values, err := s.schemas.prepare(ctx, s, table, rows)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	q, err := insertStatement(table, token)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	b := make([]byte, 0, len(q)+len(rows)*32*len(cols))
	b = append(b, q...)
	b = append(b, " FORMAT JSONEachRow\n"...)
	if b, err = appendJSONEachRow(b, cols, values, s.loc); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// A batch is megabytes; b is not touched again, so it can back the
	// query string without a copy.
	if _, err := s.conn.Query(unsafe.String(unsafe.SliceData(b), len(b)), "Null"); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

func (s *embedded) Close() error { return s.conn.Close() }

// appendJSONEachRow writes rows prepared by prepareInsert as JSONEachRow.
func appendJSONEachRow(b []byte, cols []tableColumn, values [][]any, loc *time.Location) ([]byte, error) {
	keys := make([][]byte, len(cols))
	for j, c := range cols {
		if j > 0 {
			keys[j] = append(keys[j], ',')
		}
		keys[j] = append(appendJSONString(keys[j], c.name), ':')
	}
	var err error
	for i, vals := range values {
		b = append(b, '{')
		for j, c := range cols {
			b = append(b, keys[j]...)
			if b, err = appendJSONValue(b, vals[j], c.typ, loc); err != nil {
				return nil, fmt.Errorf("row %d, column %s: %w", i, c.name, err)
			}
		}
		b = append(b, '}', '\n')
	}
	return b, nil
}

// insertStatement is the INSERT both stores send, without its data.
func insertStatement(table, token string) (string, error) {
	t, err := quoteTable(table)
	if err != nil {
		return "", err
	}
	if token == "" {
		return "INSERT INTO " + t, nil
	}
	return "INSERT INTO " + t + " SETTINGS insert_deduplication_token = " + quoteString(token), nil
}

// quoteTable quotes "table" or "database.table" as identifiers.
func quoteTable(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty table name")
	}
	db, table, qualified := strings.Cut(name, ".")
	if !qualified {
		return quoteIdent(name), nil
	}
	if db == "" || table == "" {
		return "", fmt.Errorf("table name %q: want table or database.table", name)
	}
	return quoteIdent(db) + "." + quoteIdent(table), nil
}

// quoteIdent quotes a ClickHouse identifier in backticks.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

// quoteString quotes a ClickHouse string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`).Replace(s) + "'"
}

// schemaCache remembers DESCRIBE TABLE per table until the next Exec.
type schemaCache struct {
	mu     sync.Mutex
	tables map[string]*tableSchema
}

func (c *schemaCache) get(ctx context.Context, st Store, table string) (*tableSchema, error) {
	c.mu.Lock()
	s, ok := c.tables[table]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	t, err := quoteTable(table)
	if err != nil {
		return nil, err
	}
	res, err := st.Query(ctx, "DESCRIBE TABLE "+t)
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	if s, err = newTableSchema(res); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tables == nil {
		c.tables = map[string]*tableSchema{}
	}
	c.tables[table] = s
	return s, nil
}

// prepare runs prepareInsert against the cached description of table. A
// column the description lacks may have been added since, by another
// process: the table is described again once before giving up.
func (c *schemaCache) prepare(ctx context.Context, st Store, table string, rows []Row) ([]tableColumn, [][]any, error) {
	for attempt := 0; ; attempt++ {
		schema, err := c.get(ctx, st, table)
		if err != nil {
			return nil, nil, err
		}
		cols, values, err := prepareInsert(schema, rows)
		if errors.Is(err, errUnknownColumn) && attempt == 0 {
			c.forget(table)
			continue
		}
		return cols, values, err
	}
}

func (c *schemaCache) forget(table string) {
	c.mu.Lock()
	delete(c.tables, table)
	c.mu.Unlock()
}

func (c *schemaCache) reset() {
	c.mu.Lock()
	c.tables = nil
	c.mu.Unlock()
}
