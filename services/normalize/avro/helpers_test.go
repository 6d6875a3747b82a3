package avro

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/normalize"
)

var update = flag.Bool("update", false, "rewrite the sample records and golden files under testdata/")

const (
	v1File = "testdata/churn_scored_v1.avsc"
	v2File = "testdata/churn_scored_v2.avsc"
	// Registry ids the samples are framed with.
	v1ID = 101
	v2ID = 102
)

func readSchema(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// body encodes a goavro native value with a schema, as a producer would.
func body(t testing.TB, schema string, native map[string]any) []byte {
	t.Helper()
	c, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.BinaryFromNative(nil, native)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func soe(t testing.TB, schema string, body []byte) []byte {
	t.Helper()
	fp, err := schemas.Fingerprint(schema)
	if err != nil {
		t.Fatal(err)
	}
	h := []byte{0xC3, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint64(h[2:], fp)
	return append(h, body...)
}

func confluent(id uint32, body []byte) []byte {
	h := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(h[1:], id)
	return append(h, body...)
}

var t0 = time.Date(2026, 11, 23, 14, 5, 17, 250e6, time.UTC)

// features returns n feature values of the kinds a tabular model sees.
func features(n int) map[string]any {
	m := map[string]any{
		"tenure_months":   goavro.Union("long", int64(27)),
		"monthly_charges": goavro.Union("double", 74.35),
		"contract":        goavro.Union("string", "month-to-month"),
		"has_partner":     goavro.Union("boolean", true),
		"income":          nil, // missing
	}
	for i := len(m); i < n; i++ {
		switch i % 3 {
		case 0:
			m[fmt.Sprintf("f%02d", i)] = goavro.Union("double", float64(i)*1.25)
		case 1:
			m[fmt.Sprintf("f%02d", i)] = goavro.Union("long", int64(i))
		default:
			m[fmt.Sprintf("f%02d", i)] = goavro.Union("string", fmt.Sprintf("cat-%d", i%4))
		}
	}
	return m
}

// v1Native and v2Native are one record of each producer version.
func v1Native(nFeatures int) map[string]any {
	return map[string]any{
		"request_id":      "req-000042",
		"model_id":        "churn-model",
		"model_version":   "2026.11.1",
		"ts":              t0,
		"features":        features(nFeatures),
		"score":           0.8125,
		"predicted_class": goavro.Union("string", "churn"),
		"latency_micros":  int64(18250),
		"invoice_amount":  big.NewRat(12345, 100),
		"region":          "EU",
		"signup_date":     time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		"top_reasons":     []any{"contract", "tenure_months"},
	}
}

func v2Native(nFeatures int) map[string]any {
	m := v1Native(nFeatures)
	delete(m, "latency_micros")
	m["request_id"] = "req-000043"
	m["predicted_class"] = nil
	m["tier"] = "gold"
	m["latency_ms"] = goavro.Union("double", 18.25)
	m["served_at"] = goavro.Union("long.timestamp-micros", t0.Add(1500*time.Microsecond))
	return m
}

// render writes a document with every leaf's Go type, keys sorted, one leaf
// a line, so a golden file pins both values and types.
func render(v any) string {
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

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
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

// readSampleF reads a committed sample record.
func readSampleF(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sample returns a committed sample record, first writing it with -update.
func sample(t *testing.T, name string, gen func() []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
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

// documentTypes reports the first value in v that is not a Document type.
func documentTypes(v any) error {
	switch x := v.(type) {
	case nil, bool, string, float64, float32, int, int32, int64, uint32, uint64, []byte, time.Time:
		return nil
	case normalize.Document:
		for k, e := range x {
			if err := documentTypes(e); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	case []any:
		for i, e := range x {
			if err := documentTypes(e); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	}
	return fmt.Errorf("%T is not a Document type", v)
}
