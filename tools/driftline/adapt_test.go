package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const samples = "../../services/normalize/testdata/samples"

// adapt prints the canonical events of the sample payloads on stdout and
// their dead letters on stderr, exactly as package normalize's goldens say
// (the command adds nothing of its own), and exits 0.
func TestAdaptSamples(t *testing.T) {
	for _, c := range []struct{ source, file string }{
		{"legacy-crm", "legacy-crm.json"},
		{"fraud-soap", "fraud-soap.xml"},
		{"churn-csv", "churn-csv.csv"},
		{"app-batch", "app-batch.jsonl"},
	} {
		t.Run(c.source, func(t *testing.T) {
			out, errOut, err := runCmd(t, "adapt", "--config", filepath.Join(samples, "mappings.yaml"), "--source", c.source,
				"--input", filepath.Join(samples, c.file))
			if err != nil {
				t.Fatalf("adapt: %v (stderr %s)", err, errOut)
			}
			for _, g := range []struct{ got, file string }{{out, c.source + ".events.jsonl"}, {errOut, c.source + ".deadletters.jsonl"}} {
				want, err := os.ReadFile(filepath.Join(samples, g.file))
				if err != nil {
					t.Fatal(err)
				}
				if g.got != string(want) {
					t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", g.file, g.got, want)
				}
			}
		})
	}
}

// Without a mapping file, adapt reads canonical JSON from stdin.
func TestAdaptStdinCanonical(t *testing.T) {
	old := stdin
	t.Cleanup(func() { stdin = old })
	stdin = strings.NewReader(`{"request_id":"r1","model_id":"m","timestamp":1795428000,"features":{"a":1}}
{"request_id":"r2","label":"yes"}
[{"request_id":"r3","model_id":"m","timestamp":1795428000,"features":{}},
 {"request_id":"r4","model_id":"m","timestamp":1795428001,"features":{"b":"x"}}]`)
	out, errOut, err := runCmd(t, "adapt", "--source", "app")
	if err != nil {
		t.Fatal(err)
	}
	var reqs []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct {
			Kind      string `json:"kind"`
			RequestID string `json:"request_id"`
			Source    string `json:"source"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Kind != "inference" || ev.Source != "app" {
			t.Fatalf("event line %q: %v", l, err)
		}
		reqs = append(reqs, ev.RequestID)
	}
	if strings.Join(reqs, ",") != "r1,r3,r4" {
		t.Errorf("events for %v, want r1, r3, r4", reqs)
	}
	var dl struct {
		Record     int64  `json:"record"`
		ErrorClass string `json:"error_class"`
		Original   []byte `json:"original"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(errOut)), &dl); err != nil || dl.Record != 1 || dl.ErrorClass != "missing_field" ||
		!bytes.Equal(dl.Original, []byte(`{"request_id":"r2","label":"yes"}`)) {
		t.Errorf("dead letters %q (%v), want record 1, missing_field, with its bytes", errOut, err)
	}
}

// Mapping files are checked before any input is read; the errors name the
// file, the source, the field and the problem.
func TestAdaptConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, yaml, source string
		want               []string
	}{
		{"unknown key", "sources:\n  a:\n    mapping:\n      request_idd: x\n", "a", []string{"line 4", "request_idd"}},
		{"bad type", "sources:\n  a:\n    mapping:\n      timestamp: {path: t, type: epoch_sec}\n", "a", []string{`source "a"`, `field "timestamp"`, `"epoch_sec"`}},
		{"bad default", "sources:\n  a:\n    mapping:\n      features: {fields: {x: {path: x, type: number, default: abc}}}\n", "a", []string{`source "a"`, `"features.x"`, "not a number"}},
		{"csv without columns", "sources:\n  a:\n    format: csv\n", "a", []string{`source "a"`, "csv section"}},
		{"label field on inference", "sources:\n  a:\n    mapping:\n      label: y\n", "a", []string{`source "a"`, `field "label"`}},
		{"unknown source", "sources:\n  a: {}\n", "b", []string{`source "b" is not in`}},
		{"unknown format", "sources:\n  a: {format: parquet}\n", "a", []string{`format "parquet"`}},
		{"both columns and header", "sources:\n  a: {format: csv, csv: {header: true, columns: [x]}}\n", "a", []string{"not both"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runCmd(t, "adapt", "--config", write(strings.ReplaceAll(c.name, " ", "_")+".yaml", c.yaml), "--source", c.source,
				"--input", os.DevNull)
			if err == nil {
				t.Fatal("adapt accepted the file")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}
