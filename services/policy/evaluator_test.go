package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

const win = 5 * time.Minute

// mw builds the metric window of feature in window number w (5-minute
// windows from t0) with a PSI value; Detected follows the usual 0.2 threshold.
func mw(model, feature string, w int, value float64, opts ...func(*schemas.MetricWindow)) schemas.MetricWindow {
	th := 0.2
	m := schemas.MetricWindow{
		ModelID: model, ModelVersion: "1", Variant: schemas.VariantProduction,
		WindowStart: t0.Add(time.Duration(w) * win), WindowEnd: t0.Add(time.Duration(w+1) * win),
		Family: schemas.FamilyDrift, Feature: feature, Metric: "psi", Value: value,
		Threshold: &th, Detected: value >= th, SampleCount: 1000,
	}
	for _, o := range opts {
		o(&m)
	}
	return m
}

func version(v string) func(*schemas.MetricWindow) {
	return func(m *schemas.MetricWindow) { m.ModelVersion = v }
}
func segment(s string) func(*schemas.MetricWindow) {
	return func(m *schemas.MetricWindow) { m.Segment = s }
}
func variant(v string) func(*schemas.MetricWindow) {
	return func(m *schemas.MetricWindow) { m.Variant = v }
}
func revision(r int32) func(*schemas.MetricWindow) {
	return func(m *schemas.MetricWindow) { m.Revision = r }
}
func family(f string) func(*schemas.MetricWindow) {
	return func(m *schemas.MetricWindow) { m.Family = f }
}
func metric(name string) func(*schemas.MetricWindow) {
	return func(m *schemas.MetricWindow) { m.Metric = name }
}

// step is one Observe, or a Flush when m is nil.
type step struct{ m *schemas.MetricWindow }

func obs(ms ...schemas.MetricWindow) []step {
	var out []step
	for i := range ms {
		out = append(out, step{&ms[i]})
	}
	return out
}

var flush = []step{{}}

func steps(groups ...[]step) []step {
	var out []step
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func window(t time.Time) int { return int(t.Sub(t0) / win) }

// summary renders a trigger compactly: the step that returned it, policy,
// model/version, firing window and evidence as [version:]feature[{segment}]@window.
func summary(at int, tr schemas.Trigger) string {
	var ev []string
	for _, m := range tr.Evidence {
		s := m.Feature
		if m.ModelVersion != "1" {
			s = m.ModelVersion + ":" + s
		}
		if m.Segment != "" {
			s += "{" + m.Segment + "}"
		}
		ev = append(ev, fmt.Sprintf("%s@%d", s, window(m.WindowStart)))
	}
	return fmt.Sprintf("@%d %s %s/%s w%d [%s]", at, tr.Policy, tr.ModelID, tr.ModelVersion,
		window(tr.CreatedAt)-1, strings.Join(ev, " "))
}

// run feeds the steps to a fresh evaluator, checks the invariants every
// trigger must hold, and returns the summaries.
func run(t *testing.T, e *Evaluator, set *Set, ss []step) ([]string, []schemas.Trigger) {
	t.Helper()
	var got []string
	var all []schemas.Trigger
	for i, s := range ss {
		var trs []schemas.Trigger
		if s.m == nil {
			trs = e.Flush()
		} else {
			trs = e.Observe(*s.m)
		}
		for _, tr := range trs {
			got = append(got, summary(i, tr))
			checkTrigger(t, set, tr)
		}
		all = append(all, trs...)
	}
	return got, all
}

func checkTrigger(t *testing.T, set *Set, tr schemas.Trigger) {
	t.Helper()
	var p *Policy
	for i := range set.Policies {
		if set.Policies[i].Name == tr.Policy {
			p = &set.Policies[i]
		}
	}
	if p == nil {
		t.Fatalf("trigger of unknown policy %q", tr.Policy)
	}
	start := tr.CreatedAt.Add(-win)
	if want := TriggerID(p.Name, tr.ModelID, tr.ModelVersion, start); tr.TriggerID != want {
		t.Errorf("TriggerID = %s, want %s", tr.TriggerID, want)
	}
	if want := tr.CreatedAt.Add(p.Cooldown); !tr.CooldownUntil.Equal(want) {
		t.Errorf("CooldownUntil = %v, want %v", tr.CooldownUntil, want)
	}
	if tr.Action != p.Action || tr.Severity != p.Severity {
		t.Errorf("action/severity = %s/%s, want %s/%s", tr.Action, tr.Severity, p.Action, p.Severity)
	}
	latest := false
	for _, m := range tr.Evidence {
		if m.ModelID != tr.ModelID || m.WindowStart.After(start) {
			t.Errorf("evidence %s@%d outside the firing", m.Feature, window(m.WindowStart))
		}
		latest = latest || m.WindowEnd.Equal(tr.CreatedAt)
	}
	if !latest {
		t.Errorf("no evidence from the firing window in %s", summary(0, tr))
	}
}

func mustLoad(t *testing.T, policies ...string) *Set {
	t.Helper()
	s, err := Load(strings.NewReader("policies:\n  - "+strings.Join(policies, "\n  - ")+"\n"), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEvaluator(t *testing.T) {
	const (
		detected = `{name: p, metric: psi, cooldown: 1h}`
		ge       = `{name: p, metric: psi, op: ">=", threshold: 0.2, cooldown: 0s}`
	)
	tests := []struct {
		name   string
		policy []string
		steps  []step
		want   []string
	}{
		{
			name:   "threshold crossing",
			policy: []string{ge},
			steps:  steps(obs(mw("m", "age", 0, 0.1), mw("m", "age", 1, 0.25)), flush),
			want:   []string{"@2 p m/1 w1 [age@1]"},
		},
		{
			name:   "threshold is inclusive for >=",
			policy: []string{ge},
			steps:  steps(obs(mw("m", "age", 0, 0.2)), flush),
			want:   []string{"@1 p m/1 w0 [age@0]"},
		},
		{
			name:   "threshold is exclusive for >",
			policy: []string{`{name: p, metric: psi, op: ">", threshold: 0.2}`},
			steps:  steps(obs(mw("m", "age", 0, 0.2)), flush),
		},
		{
			name:   "lower is worse with <",
			policy: []string{`{name: p, family: performance, metric: accuracy, op: "<", threshold: 0.85}`},
			steps: steps(obs(
				mw("m", "", 0, 0.9, family("performance"), metric("accuracy")),
				mw("m", "", 1, 0.8, family("performance"), metric("accuracy")),
			), flush),
			want: []string{"@2 p m/1 w1 [@1]"},
		},
		{
			name:   "detected uses the window's verdict",
			policy: []string{detected},
			steps:  steps(obs(mw("m", "age", 0, 0.1), mw("m", "age", 1, 0.5)), flush),
			want:   []string{"@2 p m/1 w1 [age@1]"},
		},
		{
			name:   "2 of 3 with a gap in between",
			policy: []string{`{name: p, metric: psi, windows: 2, of: 3}`},
			steps:  steps(obs(mw("m", "age", 0, 0.3), mw("m", "age", 1, 0.1), mw("m", "age", 2, 0.3)), flush),
			want:   []string{"@3 p m/1 w2 [age@0 age@2]"},
		},
		{
			name:   "2 of 3 needs both within 3 windows",
			policy: []string{`{name: p, metric: psi, windows: 2, of: 3}`},
			steps:  steps(obs(mw("m", "age", 0, 0.3), mw("m", "age", 1, 0.1), mw("m", "age", 2, 0.1), mw("m", "age", 3, 0.3)), flush),
		},
		{
			name:   "windows without metrics count as not crossed",
			policy: []string{`{name: p, metric: psi, windows: 2, of: 3}`},
			steps:  steps(obs(mw("m", "age", 0, 0.3), mw("m", "age", 5, 0.3)), flush),
		},
		{
			name:   "out of order: the latest crossing window fires",
			policy: []string{`{name: p, metric: psi, windows: 2, of: 3}`},
			steps:  steps(obs(mw("m", "age", 2, 0.3), mw("m", "age", 1, 0.1), mw("m", "age", 0, 0.3)), flush),
			want:   []string{"@3 p m/1 w2 [age@0 age@2]"},
		},
		{
			name:   "a window older than the last M is ignored",
			policy: []string{`{name: p, metric: psi, windows: 1, of: 2}`},
			steps:  steps(obs(mw("m", "age", 5, 0.1), mw("m", "age", 3, 0.3)), flush),
		},
		{
			name:   "a revision replaces its window, never double counts",
			policy: []string{`{name: p, metric: psi, windows: 2, of: 3}`},
			steps:  steps(obs(mw("m", "age", 0, 0.3), mw("m", "age", 0, 0.35, revision(1)), mw("m", "age", 0, 0.35, revision(1))), flush),
		},
		{
			name:   "a revision that crosses completes N of M",
			policy: []string{`{name: p, metric: psi, windows: 2, of: 3}`},
			steps: steps(obs(mw("m", "age", 0, 0.1), mw("m", "age", 1, 0.3),
				mw("m", "age", 0, 0.3, revision(1))), flush),
			want: []string{"@3 p m/1 w1 [age@0 age@1]"},
		},
		{
			name:   "an older revision arriving late is ignored",
			policy: []string{`{name: p, metric: psi, windows: 2, of: 3}`},
			steps: steps(obs(mw("m", "age", 0, 0.1, revision(2)), mw("m", "age", 0, 0.3, revision(1)),
				mw("m", "age", 1, 0.3)), flush),
		},
		{
			name:   "cooldown: one trigger across many drifted windows",
			policy: []string{`{name: p, metric: psi, cooldown: 24h}`},
			steps: func() []step {
				var ss []step
				for w := range 100 {
					ss = append(ss, obs(mw("m", "age", w, 0.5), mw("m", "income", w, 0.4))...)
				}
				return append(ss, flush...)
			}(),
			want: []string{"@2 p m/1 w0 [age@0 income@0]"},
		},
		{
			name:   "cooldown ends at window end + cooldown",
			policy: []string{`{name: p, metric: psi, cooldown: 1h}`},
			steps: func() []step {
				var ss []step
				for w := range 14 {
					ss = append(ss, obs(mw("m", "age", w, 0.5))...)
				}
				return append(ss, flush...)
			}(),
			// w0 ends at 0:05, so the cooldown lasts until 1:05, the end of w12.
			want: []string{"@1 p m/1 w0 [age@0]", "@13 p m/1 w12 [age@12]"},
		},
		{
			name:   "cooldown is per model across features and versions",
			policy: []string{detected},
			steps: steps(obs(mw("m", "age", 0, 0.5), mw("other", "age", 1, 0.5),
				mw("m", "income", 2, 0.5), mw("m", "age", 3, 0.5, version("2"))), flush),
			want: []string{"@2 p m/1 w0 [age@0]", "@4 p other/1 w1 [age@1]"},
		},
		{
			name:   "zero cooldown fires every crossing window",
			policy: []string{ge},
			steps:  steps(obs(mw("m", "age", 0, 0.5), mw("m", "age", 1, 0.5)), flush),
			want:   []string{"@1 p m/1 w0 [age@0]", "@2 p m/1 w1 [age@1]"},
		},
		{
			// age@0 of version 1 did not cross; version 2 joins, the trigger
			// names version 1, which opened the firing.
			name:   "several features in one window: one trigger with all evidence",
			policy: []string{detected},
			steps: steps(obs(mw("m", "income", 0, 0.5), mw("m", "age", 0, 0.1), mw("m", "zip", 0, 0.3),
				mw("m", "age", 0, 0.3, version("2"))), flush),
			want: []string{"@4 p m/1 w0 [income@0 zip@0 2:age@0]"},
		},
		{
			name:   "a later window emits the pending trigger without Flush",
			policy: []string{detected},
			steps: steps(obs(mw("m", "income", 0, 0.5), mw("m", "age", 0, 0.3),
				mw("m", "income", 1, 0.1), mw("m", "age", 1, 0.5)), flush),
			want: []string{"@2 p m/1 w0 [age@0 income@0]"},
		},
		{
			name:   "evidence arriving after the trigger never makes a second one",
			policy: []string{`{name: p, metric: psi, cooldown: 0s}`},
			steps:  steps(obs(mw("m", "age", 0, 0.5)), flush, obs(mw("m", "income", 0, 0.5)), flush),
			want:   []string{"@1 p m/1 w0 [age@0]"},
		},
		{
			name:   "a revision of a pending window refreshes its evidence",
			policy: []string{detected},
			steps:  steps(obs(mw("m", "age", 0, 0.5), mw("m", "age", 0, 0.6, revision(1))), flush),
			want:   []string{"@2 p m/1 w0 [age@0]"},
		},
		{
			name:   "hysteresis: recover below threshold - hysteresis before firing again",
			policy: []string{`{name: p, metric: psi, op: ">=", threshold: 0.2, hysteresis: 0.05, cooldown: 0s}`},
			steps: steps(obs(
				mw("m", "age", 0, 0.3),  // fires
				mw("m", "age", 1, 0.18), // below threshold, not recovered
				mw("m", "age", 2, 0.25), // held back
				mw("m", "age", 3, 0.1),  // recovered
				mw("m", "age", 4, 0.22), // fires again
			), flush),
			want: []string{"@1 p m/1 w0 [age@0]", "@5 p m/1 w4 [age@4]"},
		},
		{
			name:   "hysteresis for a lower-is-worse metric",
			policy: []string{`{name: p, metric: accuracy, op: "<", threshold: 0.8, hysteresis: 0.05, cooldown: 0s}`},
			steps: steps(obs(
				mw("m", "", 0, 0.7, metric("accuracy")),
				mw("m", "", 1, 0.82, metric("accuracy")),
				mw("m", "", 2, 0.7, metric("accuracy")),
				mw("m", "", 3, 0.9, metric("accuracy")),
				mw("m", "", 4, 0.7, metric("accuracy")),
			), flush),
			want: []string{"@1 p m/1 w0 [@0]", "@5 p m/1 w4 [@4]"},
		},
		{
			name:   "hysteresis: crossings before the recovery do not count",
			policy: []string{`{name: p, metric: psi, op: ">=", threshold: 0.2, hysteresis: 0.05, windows: 2, of: 3, cooldown: 0s}`},
			steps: steps(obs(mw("m", "age", 0, 0.3), mw("m", "age", 1, 0.3), mw("m", "age", 2, 0.1),
				mw("m", "age", 3, 0.3), mw("m", "age", 4, 0.3)), flush),
			want: []string{"@2 p m/1 w1 [age@0 age@1]", "@5 p m/1 w4 [age@3 age@4]"},
		},
		{
			name:   "hysteresis is per series",
			policy: []string{`{name: p, metric: psi, op: ">=", threshold: 0.2, hysteresis: 0.05, cooldown: 0s}`},
			steps:  steps(obs(mw("m", "age", 0, 0.3), mw("m", "income", 1, 0.3), mw("m", "age", 2, 0.3)), flush),
			want:   []string{"@1 p m/1 w0 [age@0]", "@2 p m/1 w1 [income@1]"},
		},
		{
			name:   "model and feature globs",
			policy: []string{`{name: p, metric: psi, models: ["fraud-*"], features: ["age", "inc*"]}`},
			steps: steps(obs(mw("churn", "age", 0, 0.5), mw("fraud-eu", "zip", 0, 0.5),
				mw("fraud-eu", "income", 0, 0.5), mw("fraud-us", "age", 0, 0.5)), flush),
			want: []string{"@4 p fraud-eu/1 w0 [income@0]", "@4 p fraud-us/1 w0 [age@0]"},
		},
		{
			name:   "variant, family and metric must match",
			policy: []string{`{name: p, family: drift, metric: psi}`},
			steps: steps(obs(mw("m", "age", 0, 0.5, variant("shadow")), mw("m", "age", 0, 0.5, family("quality")),
				mw("m", "age", 0, 0.5, metric("ks_statistic"))), flush),
		},
		{
			name:   "segments are ignored by default",
			policy: []string{detected},
			steps:  steps(obs(mw("m", "age", 0, 0.5, segment("region=eu"))), flush),
		},
		{
			name:   "segment globs",
			policy: []string{`{name: p, metric: psi, segments: ["region=*"]}`},
			steps:  steps(obs(mw("m", "age", 0, 0.5), mw("m", "age", 0, 0.5, segment("region=eu"))), flush),
			want:   []string{"@2 p m/1 w0 [age{region=eu}@0]"},
		},
		{
			name:   "policies fire independently",
			policy: []string{`{name: a, metric: psi}`, `{name: b, metric: psi, features: [age], action: notify}`},
			steps:  steps(obs(mw("m", "age", 0, 0.5), mw("m", "income", 0, 0.5)), flush),
			want:   []string{"@2 a m/1 w0 [age@0 income@0]", "@2 b m/1 w0 [age@0]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := mustLoad(t, tt.policy...)
			got, _ := run(t, NewEvaluator(set), set, tt.steps)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("triggers:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTriggerFields(t *testing.T) {
	set := mustLoad(t, `{name: acc, metric: psi, cooldown: 6h, action: safe_mode, severity: critical}`)
	e := NewEvaluator(set)
	m := mw("fraud", "age", 3, 0.5, version("v7"))
	if got := e.Observe(m); len(got) != 0 {
		t.Fatalf("Observe returned %d triggers before the window was complete", len(got))
	}
	got := e.Flush()
	end := t0.Add(4 * win)
	want := []schemas.Trigger{{
		TriggerID:     TriggerID("acc", "fraud", "v7", t0.Add(3*win)),
		ModelID:       "fraud",
		ModelVersion:  "v7",
		Policy:        "acc",
		Action:        schemas.ActionSafeMode,
		Severity:      "critical",
		Evidence:      []schemas.MetricWindow{m},
		CreatedAt:     end,
		CooldownUntil: end.Add(6 * time.Hour),
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Flush:\n got %+v\nwant %+v", got, want)
	}
	if again := e.Flush(); len(again) != 0 {
		t.Errorf("second Flush returned %d triggers", len(again))
	}
}

func TestDefaultSet(t *testing.T) {
	set := Default()
	e := NewEvaluator(nil)
	wn := func(m *schemas.MetricWindow) { m.Metric = "drift_score" }
	got, _ := run(t, e, set, steps(obs(mw("m", "age", 0, 0.5, wn), mw("m", "age", 1, 0.5, wn),
		mw("m", "age", 1, 0.5, wn, variant("shadow"))), flush))
	want := []string{"@1 default-drift m/1 w0 [age@0]"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A replay of the same metrics gives the same triggers, ids included, and a
// replay after Seed gives none, since they were already emitted.
func TestReplayDeterminism(t *testing.T) {
	set := mustLoad(t,
		`{name: drift, metric: psi, windows: 2, of: 4, cooldown: 30m}`,
		`{name: floor, metric: psi, op: ">=", threshold: 0.4, hysteresis: 0.1, cooldown: 0s}`)
	var ms []schemas.MetricWindow
	for w := range 40 {
		for _, f := range []string{"age", "income", "zip"} {
			v := 0.05 + float64((w*7+len(f)*3)%10)/20 // 0.05..0.5, varying per feature and window
			ms = append(ms, mw("fraud", f, w, v), mw("churn", f, w, v/2+0.1))
		}
	}
	ss := steps(obs(ms...), flush)
	_, first := run(t, NewEvaluator(set), set, ss)
	_, second := run(t, NewEvaluator(set), set, ss)
	if len(first) < 4 {
		t.Fatalf("only %d triggers; the test needs several", len(first))
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("replay differs:\n%+v\n%+v", first, second)
	}
	seen := map[string]bool{}
	for _, tr := range first {
		if seen[tr.TriggerID] {
			t.Errorf("duplicate TriggerID %s", tr.TriggerID)
		}
		seen[tr.TriggerID] = true
	}

	e := NewEvaluator(set)
	if n := e.Seed(first); n != len(first) {
		t.Errorf("Seed applied %d of %d", n, len(first))
	}
	if _, again := run(t, e, set, ss); len(again) != 0 {
		t.Errorf("replay after Seed emitted %d triggers, first %+v", len(again), again[0])
	}
}

func TestSeed(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		seed   []schemas.Trigger
		steps  []step
		want   []string
	}{
		{
			name:   "cooldown survives a restart",
			policy: `{name: p, metric: psi, cooldown: 1h}`,
			seed: []schemas.Trigger{{Policy: "p", ModelID: "m", ModelVersion: "1",
				CreatedAt: t0.Add(win), CooldownUntil: t0.Add(win + time.Hour)}},
			steps: steps(obs(mw("m", "age", 5, 0.5), mw("m", "age", 11, 0.5), mw("m", "age", 12, 0.5)), flush),
			want:  []string{"@3 p m/1 w12 [age@12]"},
		},
		{
			name:   "other models are not held back",
			policy: `{name: p, metric: psi, cooldown: 1h}`,
			seed: []schemas.Trigger{{Policy: "p", ModelID: "m", ModelVersion: "1",
				CreatedAt: t0.Add(win), CooldownUntil: t0.Add(win + time.Hour)}},
			steps: steps(obs(mw("n", "age", 5, 0.5)), flush),
			want:  []string{"@1 p n/1 w5 [age@5]"},
		},
		{
			name:   "unknown policies are skipped",
			policy: `{name: p, metric: psi, cooldown: 1h}`,
			seed: []schemas.Trigger{{Policy: "renamed", ModelID: "m", ModelVersion: "1",
				CreatedAt: t0.Add(win), CooldownUntil: t0.Add(win + time.Hour)}},
			steps: steps(obs(mw("m", "age", 5, 0.5)), flush),
			want:  []string{"@1 p m/1 w5 [age@5]"},
		},
		{
			name:   "hysteresis survives a restart",
			policy: `{name: p, metric: psi, op: ">=", threshold: 0.2, hysteresis: 0.05, cooldown: 0s}`,
			seed: []schemas.Trigger{{Policy: "p", ModelID: "m", ModelVersion: "1",
				Evidence:  []schemas.MetricWindow{mw("m", "age", 0, 0.5)},
				CreatedAt: t0.Add(win), CooldownUntil: t0.Add(win)}},
			steps: steps(obs(mw("m", "age", 1, 0.5), mw("m", "income", 1, 0.5), mw("m", "age", 2, 0.1),
				mw("m", "age", 3, 0.5)), flush),
			want: []string{"@2 p m/1 w1 [income@1]", "@4 p m/1 w3 [age@3]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := mustLoad(t, tt.policy)
			e := NewEvaluator(set)
			e.Seed(tt.seed)
			got, _ := run(t, e, set, tt.steps)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("triggers:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTriggerID(t *testing.T) {
	// Changing how ids are derived breaks deduplication against triggers
	// already stored, so the value is pinned.
	const golden = "7f71b5b3b4d82ed1812b01444b1323da"
	id := TriggerID("feature-drift", "fraud", "v3", t0)
	if id != golden {
		t.Errorf("TriggerID = %s, want %s", id, golden)
	}
	distinct := []string{
		id,
		TriggerID("feature-drift", "fraud", "v3", t0.Add(win)),
		TriggerID("feature-drift", "fraud", "v4", t0),
		TriggerID("feature-drift", "fraudv", "3", t0),
		TriggerID("other", "fraud", "v3", t0),
	}
	seen := map[string]bool{}
	for _, d := range distinct {
		if seen[d] {
			t.Errorf("TriggerID collision: %s", d)
		}
		seen[d] = true
	}
	// Milliseconds are what ClickHouse and Avro keep, so finer parts do not matter.
	if TriggerID("feature-drift", "fraud", "v3", t0.Add(time.Microsecond)) != id {
		t.Error("TriggerID depends on sub-millisecond time")
	}
}

func TestIdleExpiry(t *testing.T) {
	set := mustLoad(t, `{name: p, metric: psi, cooldown: 1h}`)
	e := NewEvaluator(set, WithIdleExpiry(24*time.Hour))
	e.Observe(mw("old", "age", 0, 0.5))
	e.Observe(mw("m", "age", 0, 0.1))
	e.Flush()
	day := int(48 * time.Hour / win)
	e.Observe(mw("m", "age", day, 0.1))
	e.Flush()
	if _, ok := e.series[seriesKey{0, "old", "1", "production", "", "drift", "age"}]; ok {
		t.Error("idle series kept")
	}
	if _, ok := e.gates[gateKey{0, "old"}]; ok {
		t.Error("idle gate kept")
	}
	if len(e.series) != 1 {
		t.Errorf("%d series kept, want 1", len(e.series))
	}
}

// A Set built by hand, without Load, must not make the evaluator misbehave.
func TestHandBuiltSetIsClamped(t *testing.T) {
	set := &Set{Policies: []Policy{{Name: "p", Models: []string{"*"}, Metric: "psi", Variant: "production",
		Windows: 0, Of: 0, Cooldown: -time.Hour, Action: "retrain", Severity: "high"}}}
	e := NewEvaluator(set)
	got := append(e.Observe(mw("m", "age", 0, 0.1)), e.Flush()...)
	if len(got) != 0 {
		t.Errorf("a window that did not cross fired: %+v", got)
	}
	e.Observe(mw("m", "age", 1, 0.5))
	if got := e.Flush(); len(got) != 1 || !got[0].CooldownUntil.Equal(got[0].CreatedAt) {
		t.Errorf("got %+v, want one trigger without cooldown", got)
	}
}
