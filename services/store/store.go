// Package store writes Driftline's rows to ClickHouse and reads them back,
// through one small interface with two implementations: a ClickHouse server
// over the native protocol (clickhouse://host:9000/db) and the embedded
// ClickHouse engine chDB (chdb:///path/to/dir), which keeps the same MergeTree
// files on disk and needs libchdb.so only when such a DSN is opened.
package store

import (
	"context"
)

// Store is what the services and the driftline command need from ClickHouse.
type Store interface {
	// Exec runs a statement that returns no rows (DDL, ALTER, INSERT ... SELECT).
	Exec(ctx context.Context, query string) error
	// Query runs a SELECT and returns all its rows.
	Query(ctx context.Context, query string) (*Result, error)
	// Insert appends rows to table. Each Row maps column names to values of
	// type string, bool, int64/int32/uint64/uint32, float64, time.Time,
	// map[string]string, []byte or nil (NULL); omitted columns take their
	// defaults. A non-empty token is sent as insert_deduplication_token, so a
	// retried insert with the same token is absorbed by the table.
	Insert(ctx context.Context, table string, token string, rows []Row) error
	Close() error
}

// Row is one row to insert, keyed by column name.
type Row map[string]any

// Result is a query's answer: column names and types, and rows of values.
type Result struct {
	Columns []Column
	Rows    [][]any
}

// Column names one result column and its ClickHouse type.
type Column struct {
	Name string
	Type string
}
