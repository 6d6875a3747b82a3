// Package chdb runs the embedded ClickHouse engine chDB (libchdb.so) inside
// a Go process, so that Driftline's local run and its tests use the same SQL
// and the same MergeTree files on disk as a ClickHouse server, without one.
//
// The library is loaded at run time with purego rather than linked through
// cgo: every Driftline binary builds with CGO_ENABLED=0 and cross-compiles,
// and only a process that opens a chdb:// store needs libchdb.so. The
// library is found through the environment variable DRIFTLINE_LIBCHDB (a
// path to the .so), else in the per-user cache that `make chdb`
// (infra/scripts/fetch-chdb.sh) fills:
//
//	${XDG_CACHE_HOME:-$HOME/.cache}/driftline/chdb/26.7.3-stable.1/libchdb.so
//
// It is loaded once per process, on the first Open (about 50 ms to map the
// library, about 100 ms more to boot the engine on a data directory).
//
// purego needs the C library to load another one, so a CGO_ENABLED=0
// binary that imports this package is still linked dynamically against
// glibc (libc, libdl, libpthread) and needs a glibc base image, not scratch.
// Built with -tags nochdb, the package leaves purego out, the binary is
// fully static, and Open fails with an error saying so.
//
// # What the engine allows
//
// chDB boots one ClickHouse engine per process, on one data directory. The
// following was measured against chDB 26.7.3 (ClickHouse 26.7.2.1) and is
// enforced by Open with an error rather than left to the engine, whose
// chdb_connect only returns NULL, without a reason:
//
//   - Several connections to the same directory may be open at once; each
//     Open on that directory gets its own engine connection (about 0.3 ms),
//     and queries on different Conns run in parallel. A Conn itself runs one
//     statement at a time and serialises concurrent callers.
//   - A different directory cannot be opened while any Conn is open, in this
//     process: Open fails with ErrOtherDataDir.
//   - Once every Conn is closed, the engine may be booted again, on the same
//     directory (its data is there, about 40 ms) or on another one.
//   - Another process cannot open a directory this process holds: ClickHouse
//     locks the directory's status file, and Open reports the holder's PID.
//
// # Signals
//
// By default chDB installs its own handlers, at the first chdb_connect, for
// SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGTSTP and SIGSYS,
// replacing the Go runtime's. A Go nil-pointer dereference, which should be
// a recoverable panic, then hangs the process in chDB's crash reporter. The
// library exports chdb_set_signal_handlers_enabled(int enabled), which must
// be called with 0 before the first connection to stop that, and
// chdb_reset_signal_handlers(void), which puts the handlers chDB installed
// back to SIG_DFL (with none installed it changes nothing; it never
// restores a previous handler, so this package does not call it). Open calls
// chdb_set_signal_handlers_enabled(0) once, and around every connect it
// restores any signal disposition the engine changed that was not SIG_DFL
// before, so the runtime keeps its SIGSEGV and SIGURG handling and
// signal.Notify / signal.NotifyContext for SIGINT and SIGTERM keep working.
// chDB still takes SIGRTMIN (34), which nothing in Go uses by default.
package chdb
