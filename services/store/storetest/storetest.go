// Package storetest opens real, migrated embedded ClickHouse stores for
// tests. chDB holds one data directory per process at a time, so tests that
// use it run one after the other, never in parallel.
package storetest

import (
	"context"
	"testing"

	"github.com/driftline/driftline/services/chdb"
	"github.com/driftline/driftline/services/store"
)

// Open returns a migrated chDB store in a fresh temp dir (returned too, for
// tests that reopen it), closed when the test ends. Without libchdb.so the
// test fails, saying how to get it.
func Open(t testing.TB) (store.Store, string) {
	t.Helper()
	if _, err := chdb.LibraryPath(); err != nil {
		t.Fatalf("this test needs the embedded ClickHouse engine: %v", err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, "chdb://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := store.Migrate(ctx, st, ""); err != nil {
		t.Fatal(err)
	}
	return st, dir
}
