package avro

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/driftline/driftline/services/normalize"
	"github.com/driftline/driftline/services/normalize/normalizetest"
)

// samples are the committed records of both producer versions in both
// framings: the single-object ones decode with the schemas from files, the
// Confluent ones with the same schemas registered under v1ID and v2ID.
func samples(t *testing.T) map[string][]byte {
	v1, v2 := readSchema(t, v1File), readSchema(t, v2File)
	return map[string][]byte{
		"v1_soe":       normalizetest.Sample(t, "v1_soe.bin", func() []byte { return soe(t, v1, body(t, v1, v1Native(6))) }),
		"v2_soe":       normalizetest.Sample(t, "v2_soe.bin", func() []byte { return soe(t, v2, body(t, v2, v2Native(6))) }),
		"v1_confluent": normalizetest.Sample(t, "v1_confluent.bin", func() []byte { return confluent(v1ID, body(t, v1, v1Native(6))) }),
		"v2_confluent": normalizetest.Sample(t, "v2_confluent.bin", func() []byte { return confluent(v2ID, body(t, v2, v2Native(6))) }),
	}
}

// startRegistry starts franz-go's in-memory Confluent-compatible registry
// (pkg/sr/srfake, an httptest server) with both producer versions.
func startRegistry(t *testing.T) *srfake.Registry { return startRegistryF(t) }

func startRegistryF(t testing.TB) *srfake.Registry {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	reg.SeedSchema("churn-scored-value", 1, v1ID, sr.Schema{Schema: readSchema(t, v1File)})
	reg.SeedSchema("churn-scored-value", 2, v2ID, sr.Schema{Schema: readSchema(t, v2File)})
	return reg
}

func mustNew(t testing.TB, cfg Config) *Format {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f.(*Format)
}

func TestDocumentsGolden(t *testing.T) {
	reg := startRegistry(t)
	f := mustNew(t, Config{
		SchemaFiles: []string{v1File, v2File},
		Registry:    Registry{URLs: []string{reg.URL()}},
	})
	s := samples(t)
	for _, version := range []string{"v1", "v2"} {
		t.Run(version, func(t *testing.T) {
			fromSOE := normalizetest.Render(normalizetest.DecodeOne(t, f, s[version+"_soe"]))
			fromRegistry := normalizetest.Render(normalizetest.DecodeOne(t, f, s[version+"_confluent"]))
			if fromSOE != fromRegistry {
				t.Errorf("the framings decode differently:\n%s\n%s", fromSOE, fromRegistry)
			}
			normalizetest.Golden(t, version+".golden", fromSOE)
		})
	}
}

// TestEvolution reads what the Mapping relies on by name from both
// producer versions: v2 removed latency_micros and added tier (a writer
// default is not applied by the reader: the producer wrote the value) and
// nullable fields.
func TestEvolution(t *testing.T) {
	f := mustNew(t, Config{SchemaFiles: []string{v1File, v2File}})
	s := samples(t)
	v1 := normalizetest.DecodeOne(t, f, s["v1_soe"])
	v2 := normalizetest.DecodeOne(t, f, s["v2_soe"])

	for _, c := range []struct {
		doc     normalize.Document
		key     string
		want    any
		present bool
	}{
		{v1, "latency_micros", int64(18250), true},
		{v2, "latency_micros", nil, false},
		{v1, "tier", nil, false},
		{v2, "tier", "gold", true},
		{v1, "predicted_class", "churn", true},
		{v2, "predicted_class", nil, true},
		{v2, "latency_ms", 18.25, true},
		{v2, "served_at", t0.Add(1500 * time.Microsecond), true},
		{v1, "ts", t0, true},
		{v1, "invoice_amount", 123.45, true},
		{v1, "region", "EU", true},
		{v1, "signup_date", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
	} {
		got, ok := c.doc[c.key]
		if ok != c.present {
			t.Errorf("%s (request %v): present %v, want %v", c.key, c.doc["request_id"], ok, c.present)
			continue
		}
		if tm, isTime := c.want.(time.Time); isTime {
			if g, _ := got.(time.Time); !g.Equal(tm) {
				t.Errorf("%s = %v, want %v", c.key, got, tm)
			}
		} else if got != c.want {
			t.Errorf("%s = %#v, want %#v", c.key, got, c.want)
		}
	}
	feats, ok := v2["features"].(normalize.Document)
	if !ok {
		t.Fatalf("features is %T, want a Document", v2["features"])
	}
	if feats["tenure_months"] != int64(27) || feats["contract"] != "month-to-month" || feats["has_partner"] != true {
		t.Errorf("union values not resolved: %#v", feats)
	}
	if v, ok := feats["income"]; !ok || v != nil {
		t.Errorf("null feature: got %#v, %v; want a nil value that is present", v, ok)
	}
}

func TestDecimalString(t *testing.T) {
	schema := `{"type":"record","name":"Invoice","fields":[{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":20,"scale":4}},{"name":"t","type":{"type":"int","logicalType":"time-millis"}}]}`
	f := mustNew(t, Config{Schemas: []string{schema}, Decimal: "string"})
	for _, c := range []struct {
		rat  *big.Rat
		want string
	}{
		{big.NewRat(12345, 100), "123.45"},
		{big.NewRat(-1, 10000), "-0.0001"},
		{big.NewRat(7, 1), "7"},
		{big.NewRat(15, 10), "1.5"},
	} {
		rec := soe(t, schema, body(t, schema, map[string]any{"amount": c.rat, "t": 90*time.Minute + 250*time.Millisecond}))
		doc := normalizetest.DecodeOne(t, f, rec)
		if doc["amount"] != c.want {
			t.Errorf("decimal %v: got %#v, want %q", c.rat, doc["amount"], c.want)
		}
		if doc["t"] != int64(5400250) {
			t.Errorf("time-millis: got %#v, want 5400250", doc["t"])
		}
	}
}

// TestFailures checks that bad records are refused with the right class.
func TestFailures(t *testing.T) {
	v1 := readSchema(t, v1File)
	good := body(t, v1, v1Native(6))
	recursive := `{"type":"record","name":"Node","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","Node"]}]}`
	var nested any
	for i := 0; i < 6; i++ {
		nested = map[string]any{"v": int64(i), "next": goavroUnion(nested)}
	}
	list := `{"type":"record","name":"L","fields":[{"name":"xs","type":{"type":"array","items":"long"}}]}`
	many := make([]any, 100)
	for i := range many {
		many[i] = int64(i)
	}
	cfg := Config{Schemas: []string{v1, recursive, list}, MaxDepth: 4, MaxItems: 50, MaxRecordBytes: 4096}
	f := mustNew(t, cfg)

	for _, c := range []struct {
		name  string
		value []byte
		class string
	}{
		{"empty", nil, normalize.ClassMalformed},
		{"json", []byte(`{"request_id":"x"}`), normalize.ClassMalformed},
		{"short soe header", []byte{0xC3, 0x01, 1, 2}, normalize.ClassMalformed},
		{"short confluent header", []byte{0, 0, 1}, normalize.ClassMalformed},
		{"unknown fingerprint", append([]byte{0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}, good...), normalize.ClassUnknownSchema},
		{"confluent without registry", confluent(v1ID, good), normalize.ClassUnknownSchema},
		{"truncated body", soe(t, v1, good[:len(good)-3]), normalize.ClassMalformed},
		{"trailing bytes", soe(t, v1, append(append([]byte{}, good...), 0, 0)), normalize.ClassMalformed},
		{"too large", soe(t, v1, append(append([]byte{}, good...), make([]byte, 4096)...)), normalize.ClassTooLarge},
		{"hostile array count", soe(t, list, []byte{0xfe, 0xff, 0xff, 0xff, 0x0f, 2}), normalize.ClassMalformed},
		{"too many items", soe(t, list, body(t, list, map[string]any{"xs": many})), normalize.ClassTooLarge},
		{"too deep", soe(t, recursive, body(t, recursive, nested.(map[string]any))), normalize.ClassTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			normalizetest.Fails(t, f, c.value, c.class)
		})
	}

	// Within the limits, the same shapes decode.
	shallow := map[string]any{"v": int64(1), "next": goavroUnion(map[string]any{"v": int64(2), "next": nil})}
	doc := normalizetest.DecodeOne(t, f, soe(t, recursive, body(t, recursive, shallow)))
	if next, _ := doc["next"].(normalize.Document); next == nil || next["v"] != int64(2) {
		t.Errorf("recursive record: got %#v", doc)
	}
	doc = normalizetest.DecodeOne(t, f, soe(t, list, body(t, list, map[string]any{"xs": many[:50]})))
	if xs, _ := doc["xs"].([]any); len(xs) != 50 || xs[49] != int64(49) {
		t.Errorf("array: got %#v", doc["xs"])
	}
}

func goavroUnion(v any) any {
	if v == nil {
		return nil
	}
	return goavro.Union("Node", v)
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"nothing", Config{}, "set registry.urls, schemas or schema_files"},
		{"bad url", Config{Registry: Registry{URLs: []string{"localhost:8081"}}}, "registry.urls[0]"},
		{"missing file", Config{SchemaFiles: []string{"testdata/nope.avsc"}}, "schema_files[0]"},
		{"bad schema", Config{Schemas: []string{`{"type":"record","name":"X"}`}}, "schemas[0]"},
		{"decimal", Config{Schemas: []string{`"long"`}, Decimal: "double"}, `decimal "double"`},
		{"depth", Config{Schemas: []string{`"long"`}, MaxDepth: 65}, "max_depth 65"},
		{"negative", Config{Schemas: []string{`"long"`}, MaxItems: -1}, "max_items -1"},
		{"password", Config{Registry: Registry{URLs: []string{"http://sr:8081"}, Password: "x"}}, "registry.username"},
		{"timeout", Config{Registry: Registry{URLs: []string{"http://sr:8081"}, Timeout: -time.Second}}, "registry.timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error naming %q", err, c.want)
			}
		})
	}
}

// A schema that is not a record gives values that are not documents.
func TestNotARecord(t *testing.T) {
	f := mustNew(t, Config{Schemas: []string{`"long"`}})
	_, err := f.Documents(soe(t, `"long"`, []byte{2}))
	var fail *normalize.Failure
	if !errors.As(err, &fail) || fail.Class != normalize.ClassMalformed {
		t.Errorf("got %v, want a malformed failure", err)
	}
}
