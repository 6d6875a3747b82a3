package trigger

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/policy"
	"github.com/driftline/driftline/services/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// Row keeps every column of a trigger, the evidence as JSON that reads back
// into the same metric windows, whatever their values.
func TestRow(t *testing.T) {
	w := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	pv := 0.003
	psi := window(w, "income", true, 0.31)
	psi.Metric, psi.PValue, psi.Revision = "psi", &pv, 2
	dataset := window(w, "", true, 0.5)
	dataset.Metric, dataset.Threshold = "share_of_drifted_features", nil
	odd := []schemas.MetricWindow{window(w, "latency", true, math.Inf(1)), window(w, "cost", true, math.NaN()), window(w, "delta", false, math.Inf(-1))}
	nanTh := math.NaN()
	odd[1].Threshold = &nanTh
	base := schemas.Trigger{TriggerID: "abc", ModelID: "m", ModelVersion: "v1", Policy: "p", Action: schemas.ActionRetrain,
		Severity: "high", CreatedAt: w.Add(5 * time.Minute), CooldownUntil: w.Add(5*time.Minute + time.Hour)}
	tests := []struct {
		name     string
		evidence []schemas.MetricWindow
		golden   string
	}{
		{"no evidence", nil, "evidence_none.json"},
		{"feature and dataset windows", []schemas.MetricWindow{psi, dataset}, "evidence.json"},
		// JSON has no NaN or infinity; they must not make the trigger
		// unwritable, which would stall the service on it for ever.
		{"non-finite values", odd, "evidence_nonfinite.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := base
			tr.Evidence = tt.evidence
			row, err := Row(&tr)
			if err != nil {
				t.Fatal(err)
			}
			ev, _ := row["evidence"].(string)
			golden(t, tt.golden, ev)
			delete(row, "evidence")
			want := store.Row{"trigger_id": "abc", "model_id": "m", "model_version": "v1", "policy": "p", "action": "retrain",
				"severity": "high", "created_at": tr.CreatedAt, "cooldown_until": tr.CooldownUntil}
			if !reflect.DeepEqual(row, want) {
				t.Errorf("row %v, want %v", row, want)
			}
			if !json.Valid([]byte(ev)) {
				t.Fatalf("evidence is not JSON: %s", ev)
			}
			back, err := decodeEvidence(ev)
			if err != nil {
				t.Fatal(err)
			}
			if !sameWindows(back, tt.evidence) {
				t.Errorf("evidence read back\n got %+v\nwant %+v", back, tt.evidence)
			}
		})
	}
}

// sameWindows is reflect.DeepEqual with NaN equal to NaN.
func sameWindows(a, b []schemas.MetricWindow) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(f float64) float64 {
		if math.IsNaN(f) {
			return -12345.678
		}
		return f
	}
	for i := range a {
		x, y := a[i], b[i]
		for _, m := range []*schemas.MetricWindow{&x, &y} {
			m.Value = key(m.Value)
			for _, p := range []**float64{&m.Threshold, &m.PValue} {
				if *p != nil {
					v := key(**p)
					*p = &v
				}
			}
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// Older rows, written before non-finite values were handled, still read.
func TestDecodeEvidence(t *testing.T) {
	w := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		in      string
		want    []schemas.MetricWindow
		wantErr bool
	}{
		{"empty", "", nil, false},
		{"null", "null", nil, false},
		{"empty list", "[]", []schemas.MetricWindow{}, false},
		{"plain encoding/json", `[{"ModelID":"m","WindowStart":"2026-11-23T10:00:00Z","Metric":"psi","Value":0.25,"Threshold":0.1,"PValue":null,"Detected":true}]`,
			[]schemas.MetricWindow{{ModelID: "m", WindowStart: w, Metric: "psi", Value: 0.25, Threshold: func() *float64 { f := 0.1; return &f }(), Detected: true}}, false},
		{"not JSON", "{", nil, true},
		{"a string that is no number", `[{"Value":"lots"}]`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeEvidence(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

const hysteresisPolicy = `
policies:
  - name: psi-high
    family: drift
    metric: psi
    op: ">"
    threshold: 0.5
    hysteresis: 0.1
    cooldown: 0s
`

// Hysteresis survives a restart: the triggers read back from the table,
// evidence included, disarm the series they fired for, so a restart at any
// point emits the same triggers as a service that never stopped. As the
// policy package prescribes, the restarted evaluator is seeded and then
// sees the last M (here 1) windows again.
func TestRecentRestoresHysteresis(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	set, err := policy.Load(strings.NewReader(hysteresisPolicy), "hysteresis.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var windows []schemas.MetricWindow
	// fires, held, not yet recovered (0.45 > 0.5-0.1), held, recovered, fires again
	for i, v := range []float64{0.9, 0.9, 0.45, 0.9, 0.3, 0.9} {
		m := window(w.Add(time.Duration(i)*5*time.Minute), "income", false, v)
		m.Metric = "psi"
		windows = append(windows, m)
	}
	observe := func(ev *policy.Evaluator, ms []schemas.MetricWindow) []schemas.Trigger {
		var out []schemas.Trigger
		for _, m := range ms {
			out = append(out, ev.Observe(m)...)
		}
		return append(out, ev.Flush()...)
	}
	want := ids(observe(policy.NewEvaluator(set), windows))
	if len(want) != 2 {
		t.Fatalf("uninterrupted run fired %v, want 2 triggers", want)
	}

	for restart := 0; restart < len(windows)-1; restart++ {
		if err := st.Exec(ctx, "TRUNCATE TABLE triggers"); err != nil {
			t.Fatal(err)
		}
		before := observe(policy.NewEvaluator(set), windows[:restart+1])
		var rows []store.Row
		for i := range before {
			row, err := Row(&before[i])
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, row)
		}
		if err := st.Insert(ctx, "triggers", "", rows); err != nil {
			t.Fatal(err)
		}
		recent, err := Recent(ctx, st, w)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(recent, before) {
			t.Errorf("restart after window %d: Recent\n got %+v\nwant %+v", restart, recent, before)
		}
		ev := policy.NewEvaluator(set)
		ev.Seed(recent)
		after := observe(ev, windows[restart:]) // the last window again, then the rest
		if got := append(ids(before), ids(after)...); !reflect.DeepEqual(got, want) {
			t.Errorf("restart after window %d: fired %v, want %v as without a restart", restart, got, want)
		}
	}
}

// Recent reads the triggers whose cooldown has not ended by since, oldest
// first, once each even if a row was written twice.
func TestRecentWindow(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	w := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	mk := func(id string, created time.Time, cooldown time.Duration) schemas.Trigger {
		return schemas.Trigger{TriggerID: id, ModelID: "m", ModelVersion: "v1", Policy: "p", Action: schemas.ActionNotify, Severity: "low",
			Evidence:  []schemas.MetricWindow{window(created.Add(-5*time.Minute), "income", true, 0.4)},
			CreatedAt: created, CooldownUntil: created.Add(cooldown)}
	}
	all := []schemas.Trigger{mk("b", w.Add(time.Hour), time.Hour), mk("a", w, time.Hour), mk("c", w.Add(-48*time.Hour), time.Hour)}
	for i := range all {
		row, err := Row(&all[i])
		if err != nil {
			t.Fatal(err)
		}
		// Written twice, as a retried insert with another token would.
		for range 2 {
			if err := st.Insert(ctx, "triggers", "", []store.Row{row}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		since time.Time
		want  []schemas.Trigger
	}{
		{w.Add(-72 * time.Hour), []schemas.Trigger{all[2], all[1], all[0]}},
		{w.Add(time.Hour), []schemas.Trigger{all[1], all[0]}}, // a's cooldown ends exactly then
		{w.Add(90 * time.Minute), []schemas.Trigger{all[0]}},
		{w.Add(3 * time.Hour), nil},
	}
	for _, tt := range tests {
		got, err := Recent(ctx, st, tt.since)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("since %s: got %v, want %v\n got %+v\nwant %+v", tt.since.Format(time.TimeOnly), ids(got), ids(tt.want), got, tt.want)
		}
	}
}

func ids(ts []schemas.Trigger) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.TriggerID)
	}
	return out
}

// A row whose evidence does not read still restores its cooldown.
func TestRecentToleratesBadEvidence(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	w := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tr := schemas.Trigger{TriggerID: "x", ModelID: "m", ModelVersion: "v1", Policy: "default-drift", Action: schemas.ActionRetrain,
		Severity: "high", CreatedAt: w, CooldownUntil: w.Add(24 * time.Hour)}
	row, err := Row(&tr)
	if err != nil {
		t.Fatal(err)
	}
	row["evidence"] = "{broken"
	if err := st.Insert(ctx, "triggers", "", []store.Row{row}); err != nil {
		t.Fatal(err)
	}
	got, err := Recent(ctx, st, w)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []schemas.Trigger{tr}) {
		t.Fatalf("Recent = %+v, want %+v", got, tr)
	}
	m := window(w.Add(time.Hour), "income", true, 0.3)
	for _, seed := range []bool{false, true} {
		ev := policy.NewEvaluator(policy.Default())
		if seed {
			if n := ev.Seed(got); n != 1 {
				t.Fatalf("Seed applied %d", n)
			}
		}
		fired := append(ev.Observe(m), ev.Flush()...)
		if want := map[bool]int{false: 1, true: 0}[seed]; len(fired) != want {
			t.Errorf("seeded %v: fired %d triggers an hour into the cooldown, want %d", seed, len(fired), want)
		}
	}
}
