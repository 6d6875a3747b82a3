package policy

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const example = `
policies:
  - name: feature-drift
    models: ["fraud-*", "churn"]
    family: drift
    metric: wasserstein_normed
    features: ["*"]
    variant: production
    when: detected
    windows: 1
    of: 1
    hysteresis: 0
    cooldown: 24h
    action: retrain
    severity: high
  - name: accuracy-floor
    family: performance
    metric: accuracy
    segments: ["*"]
    op: "<"
    threshold: 0.85
    windows: 3
    of: 6
    hysteresis: 0.02
    cooldown: 90m
    action: rollback
    severity: critical
`

func TestLoadExample(t *testing.T) {
	s, err := Load(strings.NewReader(example), "policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Set{Source: "policies.yaml", Policies: []Policy{
		{
			Name: "feature-drift", Models: []string{"fraud-*", "churn"}, Family: "drift",
			Metric: "wasserstein_normed", Features: []string{"*"}, Variant: "production",
			Windows: 1, Of: 1, Cooldown: 24 * time.Hour, Action: "retrain", Severity: "high",
		},
		{
			Name: "accuracy-floor", Models: []string{"*"}, Family: "performance", Metric: "accuracy",
			Segments: []string{"*"}, Variant: "production", Op: "<", Threshold: 0.85,
			Windows: 3, Of: 6, Hysteresis: 0.02, Cooldown: 90 * time.Minute,
			Action: "rollback", Severity: "critical",
		},
	}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Load:\n got %+v\nwant %+v", s, want)
	}
}

// The defaults of a file policy are those of Default(), so a minimal file
// describes the built-in behaviour exactly.
func TestLoadDefaultsMatchDefault(t *testing.T) {
	s, err := Load(strings.NewReader("policies:\n  - {name: default-drift, family: drift, metric: drift_score}\n"), "min.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Policies, Default().Policies) {
		t.Errorf("minimal file:\n got %+v\nwant %+v", s.Policies, Default().Policies)
	}
}

func TestLoadForms(t *testing.T) {
	tests := []struct {
		name, yaml string
		check      func(p Policy) bool
	}{
		{"when takes an operator", `{name: a, metric: psi, when: ">=", threshold: 0.2}`,
			func(p Policy) bool { return p.Op == OpGE && p.Threshold == 0.2 }},
		{"windows alone means N of N", `{name: a, metric: psi, windows: 3}`,
			func(p Policy) bool { return p.Windows == 3 && p.Of == 3 }},
		{"a single glob for a list", `{name: a, metric: psi, models: "fraud-*"}`,
			func(p Policy) bool { return reflect.DeepEqual(p.Models, []string{"fraud-*"}) }},
		{"null means default", `{name: a, metric: psi, cooldown: ~, action: ~}`,
			func(p Policy) bool { return p.Cooldown == DefaultCooldown && p.Action == DefaultAction }},
		{"zero cooldown", `{name: a, metric: psi, cooldown: 0s}`,
			func(p Policy) bool { return p.Cooldown == 0 }},
		{"aliases", "{name: a, metric: &m psi, models: &fraud [\"fraud-*\", scam]}\n  - {name: b, metric: *m, models: *fraud}",
			func(p Policy) bool {
				return p.Metric == "psi" && reflect.DeepEqual(p.Models, []string{"fraud-*", "scam"})
			}},
		{"dataset-level only", `{name: a, metric: share_drifted, features: [""]}`,
			func(p Policy) bool { return reflect.DeepEqual(p.Features, []string{""}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(strings.NewReader("policies:\n  - "+tt.yaml+"\n"), "p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			last := s.Policies[len(s.Policies)-1]
			if !tt.check(last) {
				t.Errorf("got %+v", last)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	// Each policy line is preceded by "policies:", so policies[0] is on line 2.
	tests := []struct {
		name, yaml, want string
	}{
		{"empty file", ``, `p.yaml: no policies`},
		{"empty list", `policies: []`, `p.yaml:1: policies: no policies`},
		{"unknown top-level key", "policies:\n  - {name: a, metric: psi}\nversion: 2", `p.yaml:3: version: unknown key`},
		{"not a mapping", `[1, 2]`, `p.yaml:1: want a mapping with the key policies`},
		{"policies not a list", `policies: {name: a}`, `p.yaml:1: policies: want a list of policies`},
		{"policy not a mapping", "policies:\n  - a", `p.yaml:2: policies[0]: want a mapping`},
		{"two documents", "policies:\n  - {name: a, metric: psi}\n---\npolicies: []", `p.yaml: more than one YAML document`},
		{"bad YAML", "policies:\n  - {name: a\n", `p.yaml:1: did not find expected ',' or '}'`},
		{"duplicate key", "policies:\n  - name: a\n    metric: psi\n    metric: ks", `p.yaml:4: policies[0] (a): metric: already set on line 3`},
		{"duplicate top-level key", "policies: []\npolicies: []", `p.yaml:2: policies: already set on line 1`},
		{"quoted number", "policies:\n  - {name: a, metric: psi, op: \">\", threshold: \"0.2\"}", `p.yaml:2: policies[0] (a): threshold: invalid value "0.2", want a number`},
		{"unknown key", "policies:\n  - name: drift\n    metric: psi\n    treshold: 0.2", `p.yaml:4: policies[0] (drift): treshold: unknown key`},
		{"unknown key before name", "policies:\n  - windws: 2\n    name: drift", `p.yaml:2: policies[0] (drift): windws: unknown key`},
		{"missing name", "policies:\n  - metric: psi", `p.yaml:2: policies[0]: name: required`},
		{"duplicate name", "policies:\n  - {name: a, metric: psi}\n  - {name: a, metric: ks}", `p.yaml:3: policies[1] (a): name: duplicate of policies[0]`},
		{"missing metric", "policies:\n  - name: a", `p.yaml:2: policies[0] (a): metric: required`},
		{"bad model glob", "policies:\n  - {name: a, metric: psi, models: [\"fraud-[\"]}", `p.yaml:2: policies[0] (a): models: bad glob "fraud-["`},
		{"empty model glob", "policies:\n  - {name: a, metric: psi, models: [\"\"]}", `p.yaml:2: policies[0] (a): models: empty glob`},
		{"bad feature glob", "policies:\n  - {name: a, metric: psi, features: [\"a\\\\\"]}", `p.yaml:2: policies[0] (a): features: bad glob "a\\"`},
		{"bad segment glob", "policies:\n  - {name: a, metric: psi, segments: [\"[\"]}", `p.yaml:2: policies[0] (a): segments: bad glob "["`},
		{"models not a list", "policies:\n  - {name: a, metric: psi, models: {a: b}}", `p.yaml:2: policies[0] (a): models: want a list of strings`},
		{"unknown family", "policies:\n  - {name: a, metric: psi, family: drfit}", `p.yaml:2: policies[0] (a): family: unknown family "drfit" (want one of drift, quality, performance, shadow, ops)`},
		{"unknown when", "policies:\n  - {name: a, metric: psi, when: always}", `p.yaml:2: policies[0] (a): when: unknown value "always" (want detected or one of >= > <= <)`},
		{"unknown op", "policies:\n  - {name: a, metric: psi, op: \"=>\", threshold: 1}", `p.yaml:2: policies[0] (a): op: unknown operator "=>" (want one of >= > <= <)`},
		{"when and op", "policies:\n  - {name: a, metric: psi, when: \">\", op: \">\", threshold: 1}", `p.yaml:2: policies[0] (a): op: set either when or op, not both`},
		{"detected and op", "policies:\n  - {name: a, metric: psi, when: detected, op: \">\", threshold: 1}", `p.yaml:2: policies[0] (a): op: set either when: detected or op, not both`},
		{"op without threshold", "policies:\n  - {name: a, metric: psi, op: \">=\"}", `p.yaml:2: policies[0] (a): threshold: required with op ">="`},
		{"threshold without op", "policies:\n  - name: a\n    metric: psi\n    threshold: 0.2", `p.yaml:4: policies[0] (a): threshold: needs op (with when: detected the window's own threshold applies)`},
		{"threshold not a number", "policies:\n  - {name: a, metric: psi, op: \">\", threshold: high}", `p.yaml:2: policies[0] (a): threshold: invalid value "high", want a number`},
		{"threshold NaN", "policies:\n  - {name: a, metric: psi, op: \">\", threshold: .nan}", `p.yaml:2: policies[0] (a): threshold: invalid value ".nan", want a finite number`},
		{"windows zero", "policies:\n  - {name: a, metric: psi, windows: 0}", `p.yaml:2: policies[0] (a): windows: 0, must be at least 1`},
		{"windows > of", "policies:\n  - name: a\n    metric: psi\n    windows: 3\n    of: 2", `p.yaml:4: policies[0] (a): windows: 3 is greater than of (2)`},
		{"windows not an integer", "policies:\n  - {name: a, metric: psi, windows: 2.5}", `p.yaml:2: policies[0] (a): windows: invalid value "2.5", want an integer`},
		{"of too large", "policies:\n  - {name: a, metric: psi, of: 100000}", `p.yaml:2: policies[0] (a): of: 100000, must be at most 1000`},
		{"negative hysteresis", "policies:\n  - {name: a, metric: psi, op: \">\", threshold: 1, hysteresis: -0.1}", `p.yaml:2: policies[0] (a): hysteresis: -0.1, must not be negative`},
		{"hysteresis with detected", "policies:\n  - {name: a, metric: psi, hysteresis: 0.1}", `p.yaml:2: policies[0] (a): hysteresis: needs op and threshold`},
		{"negative cooldown", "policies:\n  - {name: a, metric: psi, cooldown: -1h}", `p.yaml:2: policies[0] (a): cooldown: -1h0m0s, must not be negative`},
		{"cooldown without unit", "policies:\n  - {name: a, metric: psi, cooldown: 3600}", `p.yaml:2: policies[0] (a): cooldown: invalid value "3600", want a duration such as 24h or 90m`},
		{"cooldown in days", "policies:\n  - {name: a, metric: psi, cooldown: 1d}", `p.yaml:2: policies[0] (a): cooldown: invalid value "1d", want a duration such as 24h or 90m`},
		{"unknown action", "policies:\n  - {name: a, metric: psi, action: retrian}", `p.yaml:2: policies[0] (a): action: unknown action "retrian" (want one of retrain, rollback, safe_mode, notify)`},
		{"unknown severity", "policies:\n  - {name: a, metric: psi, severity: urgent}", `p.yaml:2: policies[0] (a): severity: unknown severity "urgent" (want one of info, low, medium, high, critical)`},
		{"second policy", "policies:\n  - {name: a, metric: psi}\n  - {name: b, metric: ks, action: reboot}", `p.yaml:3: policies[1] (b): action: unknown action "reboot" (want one of retrain, rollback, safe_mode, notify)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(strings.NewReader(tt.yaml), "p.yaml")
			if err == nil {
				t.Fatalf("Load = %+v, want error %q", s, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err.Error(), tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.File != "p.yaml" {
				t.Errorf("error %T does not name the file as *Error", err)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != good || len(s.Policies) != 2 {
		t.Errorf("LoadFile = %+v", s)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
}

func TestLoadTooLarge(t *testing.T) {
	big := "policies:\n  - {name: a, metric: psi}\n#" + strings.Repeat("x", maxFileSize)
	_, err := Load(strings.NewReader(big), "big.yaml")
	if err == nil || err.Error() != "big.yaml: larger than 1048576 bytes" {
		t.Errorf("err = %v", err)
	}
}
