package avro

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"

	"github.com/driftline/driftline/schemas"
)

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

// readSampleF reads a committed sample record.
func readSampleF(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
