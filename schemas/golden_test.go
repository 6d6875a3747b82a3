package schemas

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files and the generated fuzz seeds under testdata/")

const goldenSchemaID = 42

// TestGolden pins the wire format: the bytes of a fixed InferenceEvent in both
// framings and the fingerprint of every current schema. A failure means a
// schema or the encoder changed what goes on the wire. If that is intended,
// save the replaced schema under avro/history/ (see its README) so old data
// still decodes, then run go test -update.
func TestGolden(t *testing.T) {
	ev := goldenInference()
	single, err := Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := MarshalConfluent(ev, goldenSchemaID)
	if err != nil {
		t.Fatal(err)
	}
	var fps strings.Builder
	for _, n := range Names() {
		fmt.Fprintf(&fps, "%s %#016x\n", n, eventNames[n].cur.fingerprint)
	}
	files := []struct {
		path string
		b    []byte
	}{
		{"testdata/inference_event.single.golden", single},
		{"testdata/inference_event.confluent.golden", conf},
		{"testdata/fingerprints.golden", []byte(fps.String())},
	}

	if *update {
		for _, f := range files {
			if err := os.WriteFile(f.path, f.b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		writeSeeds(t)
	}

	for _, f := range files {
		want, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(f.b, want) {
			t.Errorf("%s: the wire format changed\n got %x\nwant %x\nIf intended: keep the old schema in avro/history/, then go test -update.", f.path, f.b, want)
		}
	}

	// The golden bytes decode to the fixed event, in both framings.
	schema, _ := Schema("InferenceEvent")
	d := NewDecoder()
	if err := d.RegisterID(goldenSchemaID, schema); err != nil {
		t.Fatal(err)
	}
	for _, f := range files[:2] {
		b, _ := os.ReadFile(f.path)
		var got InferenceEvent
		if err := d.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", f.path, err)
		}
		assertEqual(t, &got, ev)
	}
}

// writeSeeds regenerates the named seeds of FuzzUnmarshal: a valid encoding
// of every round-trip case in both framings, encodings by older and newer
// writers, and the hostile inputs of TestUnmarshalErrors. Inputs the fuzzer
// found (hash-named files) are left alone.
func writeSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzUnmarshal")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, p := range old {
		os.Remove(p)
	}
	seen := map[string]bool{}
	write := func(name string, b []byte) {
		if seen[string(b)] {
			return
		}
		seen[string(b)] = true
		name = "seed-" + strings.NewReplacer("/", "-", " ", "-").Replace(name)
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range roundTripCases() {
		b, _ := Marshal(c.in)
		if len(b) > 4096 {
			continue // big seeds slow every fuzz iteration down
		}
		write(c.name, b)
		id := fuzzIDs[eventOf(c.in).short]
		b, _ = MarshalConfluent(c.in, id)
		write(c.name+"-confluent", b)
	}
	for _, e := range evolutionSeeds(t) {
		write(e.name, e.b)
	}
	// Hostile inputs.
	valid, _ := Marshal(goldenInference())
	write("trailing-byte", append(append([]byte{}, valid...), 0))
	write("huge-map-count", inferencePrefix(0xfe, 0xff, 0xff, 0xff, 0x0f))
	write("map-count-minint64", inferencePrefix(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))
	write("negative-block", inferencePrefix(0x03, 0x04, 0x02, 'k', 0x00, 0x00))
	write("union-out-of-range", inferencePrefix(0x02, 0x02, 'k', 0x0a))
	ph := evReference.header
	write("huge-array-count", append(ph[:], 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f))
	write("unknown-framing", []byte(`{"event_id":"x"}`))
}

type namedBytes struct {
	name string
	b    []byte
}

// evolutionSeeds are the evolution cases' encodings, whose writer schemas
// fuzzDecoder registers.
func evolutionSeeds(t testing.TB) []namedBytes {
	var out []namedBytes
	for _, c := range evolutionCases() {
		schema := readSchema(t, c.schema)
		body := writeAs(t, schema, c.native)
		name := strings.TrimSuffix(filepath.Base(c.schema), ".avsc")
		out = append(out, namedBytes{name, singleObject(t, schema, body)}, namedBytes{name + "-confluent", confluent(c.id, body)})
	}
	return out
}
