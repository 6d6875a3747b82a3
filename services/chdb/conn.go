package chdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

var (
	// ErrClosed is returned by Query on a closed Conn.
	ErrClosed = errors.New("chdb: connection is closed")
	// ErrOtherDataDir is returned by Open when this process already has
	// another data directory open: the engine runs on one at a time.
	ErrOtherDataDir = errors.New("chdb: another data directory is open in this process")
)

// Error is a failure reported by the engine for one statement.
type Error struct {
	// Code is ClickHouse's error code (60 is UNKNOWN_TABLE, ...); 0 when the
	// message carries none.
	Code    int
	Message string
}

func (e *Error) Error() string { return "chdb: " + e.Message }

// engine tracks which data directory the process's engine runs on and how
// many Conns use it, because chdb_connect cannot say why it refuses.
var engine struct {
	mu   sync.Mutex
	dir  string
	refs int
}

// Conn is one connection to the embedded engine. It is safe for concurrent
// use; statements on one Conn run one at a time, statements on different
// Conns in parallel.
type Conn struct {
	lib *lib
	dir string

	mu     sync.Mutex
	handle *uintptr // chdb_connection *, nil once closed
}

// Open connects to the engine on dataDir, creating the directory if needed
// and booting the engine if no Conn is open. A relative dataDir is taken
// relative to the working directory. See the package documentation for
// which combinations of directories the engine accepts.
func Open(dataDir string) (*Conn, error) {
	if dataDir == "" {
		return nil, errors.New("chdb: open: empty data directory")
	}
	if err := available(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("chdb: open %s: %w", dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("chdb: open %s: %w", dir, err)
	}
	// One directory reached through two names is still one directory.
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, fmt.Errorf("chdb: open %s: %w", dataDir, err)
	}
	l, err := load()
	if err != nil {
		return nil, err
	}

	engine.mu.Lock()
	defer engine.mu.Unlock()
	if engine.refs > 0 && engine.dir != dir {
		return nil, fmt.Errorf("%w: cannot open %s while %s is open; close every connection to it first", ErrOtherDataDir, dir, engine.dir)
	}
	h, err := l.open(dir)
	if err != nil {
		return nil, err
	}
	engine.dir = dir
	engine.refs++
	return &Conn{lib: l, dir: dir, handle: h}, nil
}

// open calls chdb_connect; the caller holds engine.mu.
func (l *lib) open(dir string) (*uintptr, error) {
	before := snapshotSignals()
	if !l.signalHandlersStopped {
		l.setSignalHandlersOn(0)
		l.signalHandlersStopped = true
	}
	args := [][]byte{cString("clickhouse"), cString("--path=" + dir)}
	argv := make([]*byte, len(args))
	for i, a := range args {
		argv[i] = &a[0]
	}
	h := l.connect(int32(len(argv)), argv)
	runtime.KeepAlive(args)
	restoreSignals(before)

	if h == nil || *h == 0 {
		if pid := lockHolder(dir); pid != "" {
			return nil, fmt.Errorf("chdb: open %s: the directory is in use by another process (PID %s)", dir, pid)
		}
		return nil, fmt.Errorf("chdb: open %s: the engine refused the connection (is the directory writable and a ClickHouse data directory?)", dir)
	}
	return h, nil
}

// Dir returns the absolute data directory the Conn is open on.
func (c *Conn) Dir() string { return c.dir }

// Query runs one statement and returns its output in format (a ClickHouse
// output format such as JSONCompact or CSV; "" means CSV). Statements that
// return nothing, such as DDL or INSERT, return a nil slice. An INSERT may
// carry its data after FORMAT <name> in query itself.
func (c *Conn) Query(query, format string) ([]byte, error) {
	if strings.TrimSpace(query) == "" {
		return nil, errors.New("chdb: empty query")
	}
	if format == "" {
		format = "CSV"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handle == nil {
		return nil, ErrClosed
	}
	// chdb_connect hands back a pointer to the handle; queries take the
	// handle itself.
	conn := *c.handle
	// Lengths are passed, so neither string needs a NUL and a large INSERT
	// body is not copied.
	res := c.lib.queryN(conn, unsafe.StringData(query), uintptr(len(query)), unsafe.StringData(format), uintptr(len(format)))
	runtime.KeepAlive(query)
	runtime.KeepAlive(format)
	if res == 0 {
		return nil, errors.New("chdb: the engine returned no result")
	}
	defer c.lib.destroyResult(res)
	if msg := c.lib.resultError(res); msg != "" {
		return nil, parseError(msg)
	}
	n := c.lib.resultLength(res)
	if n == 0 {
		return nil, nil
	}
	buf := c.lib.resultBuffer(res)
	if buf == nil {
		return nil, errors.New("chdb: the engine returned a length but no buffer")
	}
	out := make([]byte, n)
	copy(out, unsafe.Slice(buf, n))
	return out, nil
}

// Close closes the connection. When the last Conn of the process closes,
// the engine stops and may be opened again, on any directory. Closing twice
// is harmless.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handle == nil {
		return nil
	}
	engine.mu.Lock()
	defer engine.mu.Unlock()
	c.lib.closeConn(c.handle)
	c.handle = nil
	engine.refs--
	return nil
}

func cString(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// parseError keeps the engine's message, minus the trailing newline and the
// stack trace some messages carry, and pulls out ClickHouse's error code
// ("Code: 60. DB::Exception: ...").
func parseError(msg string) *Error {
	msg = strings.TrimSpace(msg)
	if i := strings.Index(msg, "\nStack trace"); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	e := &Error{Message: msg}
	if rest, ok := strings.CutPrefix(msg, "Code: "); ok {
		if num, _, ok := strings.Cut(rest, "."); ok {
			e.Code, _ = strconv.Atoi(num)
		}
	}
	return e
}
