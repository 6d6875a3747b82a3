package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// native is the Store on a ClickHouse server, over the native protocol.
type native struct {
	conn    driver.Conn
	schemas schemaCache
}

func openNative(ctx context.Context, dsn string) (*native, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: ClickHouse DSN %s: %s", redactDSN(dsn), scrubSecret(err.Error(), dsn))
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %s", redactDSN(dsn), scrubSecret(err.Error(), dsn))
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: no ClickHouse server reachable at %s: %s", redactDSN(dsn), scrubSecret(err.Error(), dsn))
	}
	return &native{conn: conn}, nil
}

func (s *native) Exec(ctx context.Context, query string) error {
	s.schemas.reset()
	if err := s.conn.Exec(ctx, query); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}

func (s *native) Query(ctx context.Context, query string) (*Result, error) {
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cts := rows.ColumnTypes()
	res := &Result{Columns: make([]Column, len(cts))}
	types := make([]chType, len(cts))
	for i, ct := range cts {
		res.Columns[i] = Column{Name: ct.Name(), Type: ct.DatabaseTypeName()}
		types[i] = parseType(ct.DatabaseTypeName())
	}
	dest := make([]any, len(cts))
	for rows.Next() {
		for i, ct := range cts {
			if st := ct.ScanType(); st != nil {
				dest[i] = reflect.New(st).Interface()
			} else {
				dest[i] = new(any) // Nothing: NULL only
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("query: row %d: %w", len(res.Rows), err)
		}
		row := make([]any, len(cts))
		for i := range dest {
			row[i] = fromNative(dest[i], types[i])
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return res, nil
}

func (s *native) Insert(ctx context.Context, table, token string, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	cols, values, err := s.schemas.prepare(ctx, s, table, rows)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	t, err := quoteTable(table)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.name)
	}
	if token != "" {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplication_token": token}))
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+t+" ("+strings.Join(names, ", ")+")")
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	for i, vals := range values {
		if err := batch.Append(vals...); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("insert into %s: row %d: %w", table, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

func (s *native) Close() error { return s.conn.Close() }
