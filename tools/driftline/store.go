package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/driftline/driftline/services/store"
)

// storeFlags adds --data and --store and returns the chosen DSN.
func storeDSN(data, dsn string) string {
	if dsn != "" {
		return dsn
	}
	// The demo keeps its data in DIR/demo, dev in DIR/dev: take whichever
	// ran last, so "driftline sql" after "make run" just works.
	best, bestTime := "", int64(0)
	for _, sub := range []string{"demo", "dev"} {
		p := filepath.Join(data, sub, "clickhouse")
		if fi, err := os.Stat(p); err == nil && fi.ModTime().UnixNano() > bestTime {
			best, bestTime = p, fi.ModTime().UnixNano()
		}
	}
	if best == "" {
		best = filepath.Join(data, "dev", "clickhouse")
	}
	abs, err := filepath.Abs(best)
	if err == nil {
		best = abs
	}
	return "chdb://" + best
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	dsn := fs.String("store", "", "ClickHouse DSN (clickhouse://... or chdb:///path); default the embedded store under --data")
	data := fs.String("data", defaultData, "data directory of the embedded store")
	cluster := fs.String("cluster", "", "run the DDL ON CLUSTER with Replicated engines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := store.Open(ctx, storeDSN(*data, *dsn))
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := store.Migrate(ctx, st, *cluster)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "schema is up to date")
	}
	for _, m := range applied {
		fmt.Fprintln(stdout, "applied", m)
	}
	return nil
}

func cmdSQL(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sql", stderr)
	dsn := fs.String("store", "", "ClickHouse DSN (clickhouse://... or chdb:///path); default the embedded store under --data")
	data := fs.String("data", defaultData, "data directory of the embedded store")
	format := fs.String("format", "table", "output format: table or json")
	words, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(strings.Join(words, " "))
	if q == "" {
		return errors.New(`sql: give a query, e.g. driftline sql "SELECT count() FROM metrics"`)
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("sql: --format must be table or json, not %q", *format)
	}
	st, err := store.Open(ctx, storeDSN(*data, *dsn))
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.Query(ctx, q)
	if err != nil {
		return err
	}
	if *format == "json" {
		return res.WriteJSON(stdout)
	}
	return res.WriteTable(stdout)
}
