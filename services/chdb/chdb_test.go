package chdb

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// helperEnv makes the test binary hold a data directory open until its
// stdin closes, standing in for a second Driftline process.
const helperEnv = "DRIFTLINE_CHDB_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(holdDir(dir))
	}
	// The engine is what these tests are about: without the library they
	// fail, loudly, instead of skipping and passing.
	if _, err := LibraryPath(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func holdDir(dir string) int {
	c, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

func mustOpen(t *testing.T, dir string) *Conn {
	t.Helper()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func query(t *testing.T, c *Conn, q string) string {
	t.Helper()
	out, err := c.Query(q, "CSV")
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return string(out)
}

func TestLibraryPath(t *testing.T) {
	emptyCache := t.TempDir()
	cache := t.TempDir()
	inCache := filepath.Join(cache, "driftline", "chdb", LibraryVersion, "libchdb.so")
	if err := os.MkdirAll(filepath.Dir(inCache), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inCache, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(emptyCache, "libchdb-custom.so")
	if err := os.WriteFile(elsewhere, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     string // DRIFTLINE_LIBCHDB
		xdg     string // XDG_CACHE_HOME
		want    string
		wantErr string
	}{
		{name: "env wins", env: elsewhere, xdg: cache, want: elsewhere},
		{name: "env names a missing file", env: filepath.Join(emptyCache, "nope.so"), wantErr: "DRIFTLINE_LIBCHDB=" + filepath.Join(emptyCache, "nope.so")},
		{name: "empty cache", xdg: emptyCache, wantErr: "run `make chdb`"},
		{name: "cache", xdg: cache, want: inCache},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvLibrary, tt.env)
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			got, err := LibraryPath()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LibraryPath() = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("LibraryPath() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	c := mustOpen(t, t.TempDir())
	tests := []struct {
		query, format string
		want          string // substring of the output; "" means no output
		wantCode      int    // ClickHouse error code; -1: any error
	}{
		{query: "SELECT 40 + 2", format: "", want: "42\n"},
		{query: "SELECT 'a\\tb' AS s, 1 AS n", format: "JSONCompact", want: `"data":` + "\n\t[\n\t\t[\"a\\tb\", 1]"},
		{query: "CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x"},
		{query: "INSERT INTO t FORMAT JSONEachRow\n{\"x\":1}\n{\"x\":2}\n"},
		{query: "SELECT sum(x) FROM t", format: "TSV", want: "3\n"},
		{query: "SELECT * FROM missing_table", wantCode: 60},
		{query: "SELEC 1", wantCode: 62},
		{query: "INSERT INTO t FORMAT JSONEachRow\n{\"x\":\"many\"}\n", wantCode: -1},
	}
	for _, tt := range tests {
		out, err := c.Query(tt.query, tt.format)
		if tt.wantCode != 0 {
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("Query(%q) = %q, %v; want a *chdb.Error", tt.query, out, err)
				continue
			}
			if e.Code == 0 || (tt.wantCode > 0 && e.Code != tt.wantCode) {
				t.Errorf("Query(%q) error code %d (%s); want %d", tt.query, e.Code, e.Message, tt.wantCode)
			}
			if strings.Contains(e.Message, "Stack trace") {
				t.Errorf("Query(%q) error keeps the stack trace: %s", tt.query, e.Message)
			}
			continue
		}
		if err != nil {
			t.Errorf("Query(%q): %v", tt.query, err)
			continue
		}
		if (tt.want == "") != (out == nil) || !strings.Contains(string(out), tt.want) {
			t.Errorf("Query(%q) = %q; want %q", tt.query, out, tt.want)
		}
	}
	if _, err := c.Query("  ", "CSV"); err == nil {
		t.Error("empty query: no error")
	}
}

// TestDirectories pins down what the engine accepts, step by step, in one
// process; see the package documentation.
func TestDirectories(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	open := map[string]*Conn{}
	steps := []struct {
		op, name, dir string // op: open, close, count
		want          string // error substring for open, rows for count
	}{
		{"open", "a1", a, ""},
		{"query", "a1", "CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x", ""},
		{"query", "a1", "INSERT INTO t VALUES (1)", ""},
		{"open", "a2", a, ""}, // same directory, concurrently: allowed
		{"count", "a2", "", "1\n"},
		{"open", "b1", b, "another data directory is open"},
		{"close", "a1", "", ""},
		{"count", "a2", "", "1\n"}, // the engine stays up while any Conn is open
		{"open", "b1", b, "another data directory is open"},
		{"close", "a2", "", ""},
		{"open", "b1", b, ""}, // every Conn on a closed: another directory is fine
		{"query", "b1", "CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x", ""},
		{"count", "b1", "", "0\n"},
		{"close", "b1", "", ""},
		{"open", "a3", a, ""}, // back to the first directory: its data is there
		{"count", "a3", "", "1\n"},
		{"close", "a3", "", ""},
		{"close", "a3", "", ""}, // twice: harmless
	}
	for i, s := range steps {
		switch s.op {
		case "open":
			c, err := Open(s.dir)
			if s.want != "" {
				if err == nil {
					c.Close()
				}
				if err == nil || !errors.Is(err, ErrOtherDataDir) || !strings.Contains(err.Error(), s.want) {
					t.Fatalf("step %d: Open(%s) = %v; want error containing %q", i, s.name, err, s.want)
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: Open(%s): %v", i, s.name, err)
			}
			open[s.name] = c
			t.Cleanup(func() { c.Close() })
		case "close":
			if err := open[s.name].Close(); err != nil {
				t.Fatalf("step %d: Close(%s): %v", i, s.name, err)
			}
			if _, err := open[s.name].Query("SELECT 1", "CSV"); !errors.Is(err, ErrClosed) {
				t.Fatalf("step %d: query after Close(%s) = %v; want ErrClosed", i, s.name, err)
			}
		case "query":
			query(t, open[s.name], s.dir)
		case "count":
			if got := query(t, open[s.name], "SELECT count() FROM t"); got != s.want {
				t.Fatalf("step %d: count on %s = %q; want %q", i, s.name, got, s.want)
			}
		}
	}
}

func TestDirectoryHeldByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper: %v", err)
		}
	}()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	c, err := Open(dir)
	if err == nil {
		c.Close()
		t.Fatal("Open of a directory another process holds succeeded")
	}
	if want := fmt.Sprintf("in use by another process (PID %d)", cmd.Process.Pid); !strings.Contains(err.Error(), want) {
		t.Fatalf("Open: %v; want it to contain %q", err, want)
	}
}

func TestConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	c1 := mustOpen(t, dir)
	c2 := mustOpen(t, dir)
	query(t, c1, "CREATE TABLE t (g UInt8, x UInt32) ENGINE = MergeTree ORDER BY x")
	const perWorker = 25
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g, c := range []*Conn{c1, c1, c2, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				if _, err := c.Query(fmt.Sprintf("INSERT INTO t VALUES (%d, %d)", g, i), "CSV"); err != nil {
					errs <- err
					return
				}
				if _, err := c.Query("SELECT count() FROM t", "CSV"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := query(t, c2, "SELECT count(), uniqExact(g) FROM t"), fmt.Sprintf("%d,4\n", 4*perWorker); got != want {
		t.Fatalf("rows = %q; want %q", got, want)
	}
}
