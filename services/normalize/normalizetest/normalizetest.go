// Package normalizetest holds what the tests of the binary formats (avro,
// protobuf) check alike: that a record decodes into one document of
// Document types or fails with a *normalize.Failure, and golden files that
// pin a document's values with their Go types.
package normalizetest

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/services/normalize"
)

// Update rewrites the sample records and golden files under testdata/
// instead of comparing with them.
var Update = flag.Bool("update", false, "rewrite the sample records and golden files under testdata/")

// DocumentTypes reports the first value in v that is not a Document type.
func DocumentTypes(v any) error {
	switch x := v.(type) {
	case nil, bool, string, float64, float32, int, int32, int64, uint32, uint64, []byte, time.Time:
		return nil
	case normalize.Document:
		for k, e := range x {
			if err := DocumentTypes(e); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	case []any:
		for i, e := range x {
			if err := DocumentTypes(e); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	}
	return fmt.Errorf("%T is not a Document type", v)
}

// Outcome checks what a binary format's Documents returned for one record:
// one document of Document types, or a *normalize.Failure and no documents.
func Outcome(docs []normalize.Document, err error) error {
	if err != nil {
		var fail *normalize.Failure
		if !errors.As(err, &fail) {
			return fmt.Errorf("error is not a *normalize.Failure: %w", err)
		}
		if docs != nil {
			return fmt.Errorf("documents returned with %w", err)
		}
		return nil
	}
	if len(docs) != 1 {
		return fmt.Errorf("%d documents, want 1", len(docs))
	}
	return DocumentTypes(docs[0])
}

// DecodeOne decodes value with f, which must give one document of Document
// types.
func DecodeOne(t testing.TB, f normalize.Format, value []byte) normalize.Document {
	t.Helper()
	docs, err := f.Documents(value)
	if err != nil {
		t.Fatal(err)
	}
	if err := Outcome(docs, nil); err != nil {
		t.Fatal(err)
	}
	return docs[0]
}

// Fails checks that f fails value with a *normalize.Failure of class and
// returns no documents.
func Fails(t testing.TB, f normalize.Format, value []byte, class string) {
	t.Helper()
	docs, err := f.Documents(value)
	var fail *normalize.Failure
	if !errors.As(err, &fail) {
		t.Fatalf("got %v, %v; want a *normalize.Failure", docs, err)
	}
	if fail.Class != class {
		t.Errorf("class %q (%v), want %q", fail.Class, err, class)
	}
	if docs != nil {
		t.Errorf("documents %v returned with a failure", docs)
	}
}

// Render writes a document with every leaf's Go type, keys sorted, one leaf
// a line, so a golden file pins both values and types.
func Render(v any) string {
	var b strings.Builder
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case normalize.Document:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if len(keys) == 0 {
				fmt.Fprintf(&b, "%s = {}\n", path)
			}
			for _, k := range keys {
				walk(path+"."+k, x[k])
			}
		case []any:
			if len(x) == 0 {
				fmt.Fprintf(&b, "%s = []\n", path)
			}
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case time.Time:
			fmt.Fprintf(&b, "%s = time.Time(%s)\n", path, x.Format(time.RFC3339Nano))
		case []byte:
			fmt.Fprintf(&b, "%s = []byte(%x)\n", path, x)
		case nil:
			fmt.Fprintf(&b, "%s = nil\n", path)
		default:
			fmt.Fprintf(&b, "%s = %T(%v)\n", path, x, x)
		}
	}
	walk("$", v)
	return b.String()
}

// Golden compares got with testdata/name, or rewrites it with -update.
func Golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *Update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// Sample returns the committed sample record testdata/name, first writing
// it with gen under -update.
func Sample(t testing.TB, name string, gen func() []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *Update {
		if err := os.WriteFile(path, gen(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	return b
}
