package chdb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// LibraryVersion is the chDB release fetched by infra/scripts/fetch-chdb.sh
// and looked for in the cache.
const LibraryVersion = "26.7.3-stable.1"

// EnvLibrary names the environment variable that overrides where
// libchdb.so is loaded from.
const EnvLibrary = "DRIFTLINE_LIBCHDB"

// LibraryPath returns the path libchdb.so is loaded from: $DRIFTLINE_LIBCHDB
// if set, else the cache path that `make chdb` fills. It fails, saying how to
// get the library, if no file is there.
func LibraryPath() (string, error) {
	if p := os.Getenv(EnvLibrary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("chdb: %s=%s: %w; run `make chdb` (infra/scripts/fetch-chdb.sh) to download libchdb.so, or point %s at it", EnvLibrary, p, err, EnvLibrary)
		}
		return p, nil
	}
	p, err := cachePath()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("chdb: libchdb.so not found at %s: run `make chdb` (infra/scripts/fetch-chdb.sh) to download it, or set %s to its path", p, EnvLibrary)
		}
		return "", fmt.Errorf("chdb: %w", err)
	}
	return p, nil
}

// cachePath mirrors fetch-chdb.sh: ${XDG_CACHE_HOME:-$HOME/.cache}, on every
// OS, so the script and the loader never disagree (os.UserCacheDir would say
// ~/Library/Caches on macOS).
func cachePath() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("chdb: cannot locate the cache for libchdb.so (set %s): %w", EnvLibrary, err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "driftline", "chdb", LibraryVersion, "libchdb.so"), nil
}

// lib holds the library's entry points, declared as chdb.h has them.
// Connection and result handles are kept as uintptr, opaque C addresses.
type lib struct {
	// chdb_connection *chdb_connect(int argc, char **argv) and
	// void chdb_close_conn(chdb_connection *): a pointer to the handle.
	connect   func(argc int32, argv []*byte) *uintptr
	closeConn func(conn *uintptr)
	// chdb_result *chdb_query_n(chdb_connection, const char *query,
	// size_t, const char *format, size_t)
	queryN        func(conn uintptr, query *byte, queryLen uintptr, format *byte, formatLen uintptr) uintptr
	resultError   func(res uintptr) string // const char *, NULL when the query succeeded
	resultBuffer  func(res uintptr) *byte
	resultLength  func(res uintptr) uintptr
	destroyResult func(res uintptr)
	// void chdb_set_signal_handlers_enabled(int enabled)
	setSignalHandlersOn func(enabled int32)

	signalHandlersStopped bool // guarded by engine.mu
}

var (
	loadMu sync.Mutex
	loaded *lib
)

// load maps libchdb.so into the process on first use. A failure is not
// cached: the user may fetch the library and retry without restarting.
func load() (*lib, error) {
	loadMu.Lock()
	defer loadMu.Unlock()
	if loaded != nil {
		return loaded, nil
	}
	path, err := LibraryPath()
	if err != nil {
		return nil, err
	}
	h, err := dlopen(path)
	if err != nil {
		return nil, fmt.Errorf("chdb: load %s: %w", path, err)
	}
	l := &lib{}
	syms := []struct {
		fn   any
		name string
	}{
		{&l.connect, "chdb_connect"},
		{&l.closeConn, "chdb_close_conn"},
		{&l.queryN, "chdb_query_n"},
		{&l.resultError, "chdb_result_error"},
		{&l.resultBuffer, "chdb_result_buffer"},
		{&l.resultLength, "chdb_result_length"},
		{&l.destroyResult, "chdb_destroy_query_result"},
		{&l.setSignalHandlersOn, "chdb_set_signal_handlers_enabled"},
	}
	for _, s := range syms {
		// Look up first: purego.RegisterLibFunc would panic on a missing
		// symbol, and an old or foreign library is an input error, not a bug.
		addr, err := dlsym(h, s.name)
		if err != nil || addr == 0 {
			dlclose(h)
			return nil, fmt.Errorf("chdb: %s lacks %s; it is not the chDB %s C library (run `make chdb`)", path, s.name, LibraryVersion)
		}
		register(s.fn, addr)
	}
	loaded = l
	return l, nil
}
