package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/services/chdb"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// runCmd calls run with a bounded context and returns what it printed.
func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err = run(ctx, args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// needChDB fails the test, saying why, when libchdb.so is missing: the
// embedded store is what these tests exercise, so they must not pass
// without it.
func needChDB(t *testing.T) {
	t.Helper()
	if _, err := chdb.LibraryPath(); err != nil {
		t.Fatalf("this test needs the embedded ClickHouse engine: %v", err)
	}
}

// migratedStore opens a fresh chDB store in a temp dir, migrates it, lets
// fill write rows and closes it again, so that run can open the directory:
// chDB holds one data directory per process at a time.
func migratedStore(t *testing.T, fill func(context.Context, store.Store) error) (dir string) {
	t.Helper()
	st, dir := storetest.Open(t)
	defer st.Close()
	if fill != nil {
		if err := fill(context.Background(), st); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	if want := readGolden(t, name, got); got != want {
		t.Errorf("output differs from testdata/%s:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// readGolden returns testdata/name, first rewriting it with got under -update.
func readGolden(t *testing.T, name, got string) string {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	return string(want)
}

// Argument errors are reported before any store or broker is touched.
func TestRunArgumentErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantErr    string // substring of the error; "" for none
		wantHelp   bool   // the error is flag.ErrHelp
		wantStderr string // substring of stderr
		wantStdout string // substring of stdout
	}{
		{name: "no args", args: nil, wantHelp: true, wantStderr: "Usage:\n  driftline demo"},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`, wantStderr: "Usage:"},
		{name: "help", args: []string{"help"}, wantStdout: "Usage:"},
		{name: "sql without a query", args: []string{"sql"}, wantErr: "sql: give a query"},
		{name: "sql with a blank query", args: []string{"sql", "  "}, wantErr: "sql: give a query"},
		{name: "sql with an unknown format", args: []string{"sql", "--format", "xml", "SELECT 1"}, wantErr: `--format must be table or json, not "xml"`},
		{name: "sql with an unknown flag", args: []string{"sql", "--frob", "SELECT 1"}, wantErr: "flag provided but not defined: -frob", wantStderr: "-format"},
		{name: "baseline without --model", args: []string{"baseline", "--csv", "testdata/train.csv"}, wantErr: "--csv and --model are required"},
		{name: "baseline without --csv", args: []string{"baseline", "--model", "m"}, wantErr: "--csv and --model are required"},
		{name: "baseline with a missing file", args: []string{"baseline", "--csv", "testdata/missing.csv", "--model", "m"},
			wantErr: "testdata/missing.csv: no such file"},
		{name: "baseline with a ragged row", args: []string{"baseline", "--csv", "testdata/ragged.csv", "--model", "m"},
			wantErr: "testdata/ragged.csv:3: row has 2 fields, the header has 3"},
		{name: "baseline with an unknown categorical column", args: []string{"baseline", "--csv", "testdata/train.csv", "--model", "m", "--categorical", "zipcode"},
			wantErr: `testdata/train.csv: Options.Categorical: no column "zipcode"`},
		// Checked before the stack starts: nothing is created.
		{name: "dev with a bad mapping file", args: []string{"dev", "--data", "testdata/no-such-dir", "--mappings", "testdata/mappings_bad.yaml"},
			wantErr: `testdata/mappings_bad.yaml: source "app": format "fixed-width"`},
		{name: "dev with a missing mapping file", args: []string{"dev", "--data", "testdata/no-such-dir", "--mappings", "testdata/missing.yaml"},
			wantErr: "testdata/missing.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runCmd(t, tt.args...)
			switch {
			case tt.wantHelp:
				if !errors.Is(err, flag.ErrHelp) {
					t.Errorf("err = %v, want flag.ErrHelp", err)
				}
			case tt.wantErr == "":
				if err != nil {
					t.Errorf("err = %v, want none", err)
				}
			case err == nil:
				t.Errorf("err = nil, want one containing %q", tt.wantErr)
			case !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("err = %q, want it to contain %q", err, tt.wantErr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.wantStdout)
			}
		})
	}
}

// Only arguments naming a defined flag are flags; the rest is the query,
// including a negative number or a SQL comment.
func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		want       []string
		wantFormat string
	}{
		{[]string{"SELECT", "1"}, []string{"SELECT", "1"}, "table"},
		{[]string{"SELECT 1", "--format", "json"}, []string{"SELECT 1"}, "json"},
		{[]string{"--format=json", "SELECT", "-1"}, []string{"SELECT", "-1"}, "json"},
		{[]string{"SELECT", "1", "--", "comment"}, []string{"SELECT", "1", "--", "comment"}, "table"},
		{[]string{"SELECT", "-x", "-format", "json"}, []string{"SELECT", "-x"}, "json"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		format := fs.String("format", "table", "")
		got, err := parseInterspersed(fs, tc.args)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || *format != tc.wantFormat {
			t.Errorf("%q: got %q format %s, want %q format %s", tc.args, got, *format, tc.want, tc.wantFormat)
		}
	}
}
