package normalize

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func loadSamples(t testing.TB) *Sources {
	t.Helper()
	srcs, err := LoadFile(filepath.Join("testdata", "samples", "mappings.yaml"), SourcesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "samples", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// The sample payloads of every format, through their mappings, give the
// golden canonical events and dead letters; every record lands in exactly
// one of the two, with the dead letters' classes as listed.
func TestSamples(t *testing.T) {
	srcs := loadSamples(t)
	for _, c := range []struct {
		source, file string
		records      int64
		events       int64
		classes      []string // of the dead letters, in order
	}{
		{"legacy-crm", "legacy-crm.json", 7, 3, []string{ClassDuplicate, ClassWrongType, ClassMissingField, ClassMalformed}},
		{"fraud-soap", "fraud-soap.xml", 3, 2, []string{ClassWrongType, ClassMalformed}},
		{"churn-csv", "churn-csv.csv", 5, 3, []string{ClassWrongType, ClassMalformed}},
		{"app-batch", "app-batch.jsonl", 6, 3, []string{ClassMissingField, ClassWrongType, ClassMalformed}},
		{"labels-csv", "labels-csv.csv", 4, 2, []string{ClassMissingField, ClassWrongType}},
	} {
		t.Run(c.source, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "samples", c.file))
			if err != nil {
				t.Fatal(err)
			}
			var out, dead bytes.Buffer
			now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			counts, err := srcs.Lookup(c.source).Adapt(bytes.NewReader(in), &out, &dead, StreamOptions{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.source+".events.jsonl", out.Bytes())
			golden(t, c.source+".deadletters.jsonl", dead.Bytes())
			if counts.Records != c.records || counts.Events != c.events || counts.DeadLetters != int64(len(c.classes)) {
				t.Errorf("counts %+v, want %d records, %d events, %d dead letters", counts, c.records, c.events, len(c.classes))
			}
			lines := strings.Split(strings.TrimSpace(dead.String()), "\n")
			var got []string
			for _, l := range lines {
				if l == "" {
					continue
				}
				var dl deadLetterLine
				if err := json.Unmarshal([]byte(l), &dl); err != nil {
					t.Fatalf("dead letter %q: %v", l, err)
				}
				if len(dl.Original) == 0 || !bytes.Contains(in, bytes.TrimSpace(dl.Original)) {
					t.Errorf("dead letter %d: original %q is not a piece of the input", dl.Record, dl.Original)
				}
				got = append(got, dl.ErrorClass)
			}
			if strings.Join(got, ",") != strings.Join(c.classes, ",") {
				t.Errorf("dead-letter classes %v, want %v", got, c.classes)
			}
		})
	}
}

// sampleMapping returns the mapping section of a sample source, from the
// same file.
func sampleMapping(t testing.TB, _ *Sources, name string) MappingConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "samples", "mappings.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var fc FileConfig
	if err := yaml.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	return fc.Sources[name].Mapping
}
