package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/aggregate"
	"github.com/driftline/driftline/services/drift"
	"github.com/driftline/driftline/services/drift/drifttest"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/window"
)

// engines runs the drift family's two window levels over events as the
// drift-aggregator does, keeping the windows level 2 finishes.
type engines struct {
	t      *testing.T
	l1     *drifttest.Level1
	l2     *window.Level2
	poff   int64
	finals []window.Final
}

func newEngines(t *testing.T, refs *drift.References, size time.Duration) *engines {
	cfg := drifttest.Config(size)
	return &engines{t: t, l1: drifttest.NewLevel1(refs, cfg), l2: window.NewLevel2("drift", cfg)}
}

func (e *engines) event(ev *drifttest.Event, now time.Time) {
	e.t.Helper()
	if err := e.l1.Add(ev, now); err != nil {
		e.t.Fatal(err)
	}
}

// flush hands level 1's partials and heartbeats to level 2 and keeps the
// windows that finish.
func (e *engines) flush(now time.Time, parts int32) {
	for _, p := range e.l1.Flush(now, parts) {
		e.l2.Add(0, e.poff, p, now)
		e.poff++
	}
	e.finals = append(e.finals, e.l2.Ready(now)...)
}

// window returns the latest revision of the finished window [from, to).
func (e *engines) window(from, to time.Time) window.Final {
	e.t.Helper()
	var f *window.Final
	for i := range e.finals {
		if k := e.finals[i].Key; k.Start.Equal(from) && k.End.Equal(to) {
			f = &e.finals[i]
		}
	}
	if f == nil {
		e.t.Fatalf("no finished window %s to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return *f
}

// viewOut is one row `driftline view --format json` prints.
type viewOut struct {
	WindowStart  time.Time `json:"window_start"`
	WindowEnd    time.Time `json:"window_end"`
	Windows      int       `json:"windows"`
	ModelVersion string    `json:"model_version"`
	Variant      string    `json:"variant"`
	Segment      string    `json:"segment"`
	Family       string    `json:"family"`
	Feature      string    `json:"feature"`
	Metric       string    `json:"metric"`
	Value        *float64  `json:"value"`
	Threshold    *float64  `json:"threshold"`
	PValue       *float64  `json:"p_value"`
	Detected     bool      `json:"detected"`
	SampleCount  int64     `json:"sample_count"`
}

func (r viewOut) String() string {
	f := func(x *float64) string {
		if x == nil {
			return "null"
		}
		return fmt.Sprint(*x)
	}
	return fmt.Sprintf("%s-%s %d windows %s/%s/%s %s value %s threshold %s p %s detected %t n %d",
		r.WindowStart.Format(time.RFC3339), r.WindowEnd.Format(time.RFC3339), r.Windows, r.ModelVersion, r.Variant,
		r.Segment, r.key(), f(r.Value), f(r.Threshold), f(r.PValue), r.Detected, r.SampleCount)
}

func (r viewOut) key() string { return r.Family + "/" + r.Feature + "/" + r.Metric }

func runView(t *testing.T, args ...string) ([]viewOut, string) {
	t.Helper()
	stdout, stderr, err := runCmd(t, append([]string{"view", "--format", "json"}, args...)...)
	if err != nil {
		t.Fatalf("view %q: %v (stderr %q)", args, err, stderr)
	}
	var rows []viewOut
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("view %q printed %q: %v", args, stdout, err)
	}
	return rows, stderr
}

// The views `driftline view` merges from the stored states of five-minute
// windows have the metrics of one window over the same events: the hour
// those of one hour-long window, each half hour (--span 30m) and each
// sliding half hour (--every 15m) those of a half-hour window; every
// drift, quality and ops row, the same value (up to the order of
// floating-point sums), sample count and verdict.
func TestViewEqualsOneLongWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	prof, refs, err := drifttest.References(r)
	if err != nil {
		t.Fatal(err)
	}

	hour := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	const parts = 3
	fives := newEngines(t, refs, 5*time.Minute)
	halves := newEngines(t, refs, 30*time.Minute)
	quarters := newEngines(t, refs, 15*time.Minute)
	whole := newEngines(t, refs, time.Hour)
	all := []*engines{fives, halves, quarters, whole}
	now := time.Now()
	for i, ev := range drifttest.Hour(r, hour, 6000, parts) {
		for _, e := range all {
			e.event(&ev, now)
			if i%500 == 0 {
				e.flush(now, parts)
			}
		}
	}
	for _, e := range all {
		e.flush(now, parts)
	}
	// A late event of 10:07 on partition 1 revises a window after it
	// went out: the view reads its latest state.
	late := drifttest.Event{Partition: 1, InferenceEvent: drifttest.Late(hour.Add(7 * time.Minute))}
	for _, e := range all {
		e.event(&late, now)
		e.flush(now, parts)
	}

	// Only the five-minute windows are stored, as level 2 stores them,
	// and the profile, as the drift-aggregator stores the profiles it
	// reads.
	comp := &drift.Computer{Refs: refs}
	dir := migratedStore(t, func(ctx context.Context, st store.Store) error {
		if err := drift.SaveProfiles(ctx, st, []*schemas.ReferenceProfile{prof}); err != nil {
			return err
		}
		return aggregate.WriteStates(ctx, st, fives.finals, now, comp)
	})
	dsn := "chdb://" + dir

	// check compares the rows of one view with the metrics of the window
	// e finished over the same time.
	check := func(name string, rows []viewOut, e *engines, from, to time.Time, windows int) {
		t.Helper()
		ms, err := comp.Compute(context.Background(), e.window(from, to))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]schemas.MetricWindow{}
		for _, m := range ms {
			want[m.Family+"/"+m.Feature+"/"+m.Metric] = m
		}
		got := map[string]viewOut{}
		for _, r := range rows {
			if r.WindowStart.Equal(from) && r.WindowEnd.Equal(to) {
				if r.Windows != windows || r.ModelVersion != "v1" || r.Variant != "production" || r.Segment != "" {
					t.Errorf("%s: row %+v, want %d windows of v1/production", name, r, windows)
				}
				got[r.key()] = r
			}
		}
		if len(want) < 20 || len(got) != len(want) {
			t.Fatalf("%s: %d rows of the view %s to %s, %d of the window (want at least 20)", name, len(got),
				from.Format(time.RFC3339), to.Format(time.RFC3339), len(want))
		}
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			w, g := want[k], got[k]
			if g.Value == nil || math.Abs(*g.Value-w.Value) > 1e-9*math.Max(1, math.Abs(w.Value)) ||
				g.SampleCount != w.SampleCount || g.Detected != w.Detected || (g.Threshold == nil) != (w.Threshold == nil) {
				t.Errorf("%s: %s: view %+v, one window %+v", name, k, g, w)
			}
		}
		if w := want["ops//event_count"].Value; got["ops//event_count"].Value == nil || *got["ops//event_count"].Value != w {
			t.Errorf("%s: event_count %v, want %v", name, got["ops//event_count"].Value, w)
		}
	}

	end := hour.Add(time.Hour)
	rows, stderr := runView(t, "--store", dsn, "--model", "m", "--family", "drift",
		"--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06 11:00")
	check("hour", rows, whole, hour, end, 12)
	if stderr != "" {
		t.Errorf("stderr %q, want nothing", stderr)
	}
	byKey := map[string]viewOut{}
	for _, r := range rows {
		byKey[r.key()] = r
	}
	if ev := byKey["ops//event_count"]; ev.Value == nil || *ev.Value != 6001 {
		t.Errorf("event_count of the hour = %+v, want 6001 (the late event included)", ev)
	}
	if d := byKey["drift//dataset_drift_share"]; d.Value == nil || *d.Value == 0 {
		t.Errorf("dataset_drift_share = %+v; feature a drifts through the hour", d)
	}

	// Tumbling half hours: two views of six windows each.
	rows, _ = runView(t, "--store", dsn, "--model", "m", "--family", "drift",
		"--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:00Z", "--span", "30m")
	check("first half", rows, halves, hour, hour.Add(30*time.Minute), 6)
	check("second half", rows, halves, hour.Add(30*time.Minute), end, 6)
	counts := eventCounts(rows)
	if want := map[string]float64{"10:00-10:30": 3001, "10:30-11:00": 3000}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("event_count of the half hours %v, want %v", counts, want)
	}

	// Sliding half hours every quarter: ends at 10:30, 10:45 and 11:00.
	rows, _ = runView(t, "--store", dsn, "--model", "m", "--family", "drift",
		"--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:00Z", "--span", "30m", "--every", "15m", "--metric", "event_count,drift_score")
	if want := map[string]float64{"10:00-10:30": 3001, "10:15-10:45": 3000, "10:30-11:00": 3000}; fmt.Sprint(eventCounts(rows)) != fmt.Sprint(want) {
		t.Errorf("event_count of the sliding half hours %v, want %v", eventCounts(rows), want)
	}
	for _, r := range rows {
		if r.Windows != 6 || (r.Metric != "event_count" && r.Metric != "drift_score") {
			t.Errorf("sliding view row %+v: want 6 windows, only event_count and drift_score", r)
		}
	}
	if len(rows) != 3*4 {
		t.Errorf("%d rows of the sliding views, want 3 × (event_count + 3 drift_score)", len(rows))
	}
	// A quarter's view against the quarter-hour window, through --feature.
	rows, _ = runView(t, "--store", dsn, "--model", "m", "--family", "drift",
		"--from", "2026-12-06T10:15:00Z", "--to", "2026-12-06T10:30:00Z", "--feature", "a")
	ms, err := comp.Compute(context.Background(), quarters.window(hour.Add(15*time.Minute), hour.Add(30*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	var wantA int
	for _, m := range ms {
		if m.Feature == "a" {
			wantA++
		}
	}
	if len(rows) != wantA || wantA == 0 {
		t.Errorf("--feature a: %d rows, want %d", len(rows), wantA)
	}

	// A range without stored windows: no rows, a note, no error, and no
	// wait for the references either.
	rows, stderr = runView(t, "--store", dsn, "--model", "m", "--family", "drift",
		"--from", "2026-12-07T10:00:00Z", "--to", "2026-12-07T11:00:00Z")
	if len(rows) != 0 || !strings.Contains(stderr, "no stored 5m windows of model m, family drift") {
		t.Errorf("empty range: %d rows, stderr %q", len(rows), stderr)
	}
	// A version without windows is an empty range too.
	if rows, _ := runView(t, "--store", dsn, "--model", "m", "--family", "drift", "--version", "v2",
		"--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:00Z"); len(rows) != 0 {
		t.Errorf("--version v2: %d rows, want none", len(rows))
	}

	// Without a stored profile of the model, drift cannot be measured.
	bare := migratedStore(t, func(ctx context.Context, st store.Store) error {
		return aggregate.WriteStates(ctx, st, fives.finals, now, comp)
	})
	_, _, err = runCmd(t, "view", "--store", "chdb://"+bare, "--model", "m",
		"--family", "drift", "--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:00Z")
	if err == nil || !strings.Contains(err.Error(), "no reference profile of model m in reference_profiles") {
		t.Errorf("no profile: err = %v", err)
	}
}

// eventCounts returns the event_count of each view, by its times.
func eventCounts(rows []viewOut) map[string]float64 {
	out := map[string]float64{}
	for _, r := range rows {
		if r.Metric == "event_count" && r.Value != nil {
			out[r.WindowStart.Format("15:04")+"-"+r.WindowEnd.Format("15:04")] = *r.Value
		}
	}
	return out
}

// A shadow view's agreement rate is that of every pair of its windows:
// Σagree/Σpairs, not the mean of the windows' rates. A window missing
// from the store is said on stderr; --variant narrows the series.
func TestViewShadow(t *testing.T) {
	hour := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	now := time.Now()
	var fs []window.Final
	var pairs, agree float64
	for i := range 12 {
		if i == 5 {
			continue // 10:25 never finished
		}
		start := hour.Add(time.Duration(i) * 5 * time.Minute)
		for _, variant := range []string{"candidate", "other"} {
			k := window.Key{Family: "shadow", ModelID: "m", ModelVersion: "v1", Variant: variant, Start: start, End: start.Add(5 * time.Minute)}
			f := window.Final{Key: k, Revision: 1}
			for p := range 2 {
				n, ag := float64(10+i*3+p), float64(5+i*2+p) // rates differ from window to window
				if variant == "other" {
					ag = 0
				}
				f.Partials = append(f.Partials, schemas.WindowPartial{Family: "shadow", ModelID: "m", ModelVersion: "v1", Variant: variant,
					WindowStart: k.Start, WindowEnd: k.End, SourcePartition: int32(p), Count: int64(n),
					Counters: map[string]float64{"pairs": n, "agree": ag}})
				if variant == "candidate" {
					pairs += n
					agree += ag
				}
			}
			fs = append(fs, f)
		}
	}
	dir := migratedStore(t, func(ctx context.Context, st store.Store) error {
		return aggregate.WriteStates(ctx, st, fs, now, nil)
	})
	rows, stderr := runView(t, "--store", "chdb://"+dir, "--model", "m", "--family", "shadow", "--variant", "candidate",
		"--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:00Z")
	got := map[string]viewOut{}
	for _, r := range rows {
		if r.Variant != "candidate" || r.Windows != 11 || r.SampleCount != int64(pairs) || !r.WindowStart.Equal(hour) {
			t.Errorf("row %+v: want candidate, 11 windows, %v pairs, from 10:00", r, pairs)
		}
		got[r.Metric] = r
	}
	if r := got["agreement_rate"]; r.Value == nil || math.Abs(*r.Value-agree/pairs) > 1e-12 {
		t.Errorf("agreement_rate %+v, want %v/%v", r, agree, pairs)
	}
	if r := got["pairs"]; r.Value == nil || *r.Value != pairs {
		t.Errorf("pairs %+v, want %v", r, pairs)
	}
	if !strings.Contains(stderr, "v1/candidate: 11 of 12 windows stored") {
		t.Errorf("stderr %q does not say a window is missing", stderr)
	}

	// Both variants, one metric, as a table.
	stdout, _, err := runCmd(t, "view", "--store", "chdb://"+dir, "--model", "m", "--family", "shadow", "--metric", "agreement_rate",
		"--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:00Z", "--span", "30m")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2+4 || !strings.Contains(lines[0], "-window_start-") || !strings.Contains(lines[0], "-windows-") {
		t.Fatalf("table of 2 views × 2 variants:\n%s", stdout)
	}
	for _, want := range []string{"| 2026-12-06 10:00:00.000 | 2026-12-06 10:30:00.000 |       5 | v1", "| other", " 0 |"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
}

// Argument errors are reported before any store or broker is touched, each
// naming the problem.
func TestViewArgumentErrors(t *testing.T) {
	base := []string{"view", "--store", "chdb:///nonexistent", "--model", "m", "--family", "shadow"}
	hour := []string{"--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:00Z"}
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"from after to", with("--from", "2026-12-06T11:00:00Z", "--to", "2026-12-06T10:00:00Z"), "--from 2026-12-06T11:00:00Z is not before --to 2026-12-06T10:00:00Z"},
		{"from equal to", with("--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T10:00:00Z"), "is not before --to"},
		{"from off the grid", with("--from", "2026-12-06T10:03:00Z", "--to", "2026-12-06T11:00:00Z"),
			"--from 2026-12-06T10:03:00Z is not on the 5m window grid (windows start at 2026-12-06T10:00:00Z, 2026-12-06T10:05:00Z"},
		{"to off the grid", with("--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:01Z"), "--to 2026-12-06T11:00:01Z is not on the 5m window grid"},
		{"to off a larger grid", with("--window", "1h", "--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:30:00Z"), "--to 2026-12-06T11:30:00Z is not on the 1h window grid"},
		{"span not whole windows", with(append(hour, "--span", "7m")...), "--span 7m is not a whole number of 5m windows"},
		{"every not whole windows", with(append(hour, "--span", "30m", "--every", "12m")...), "--every 12m is not a whole number of 5m windows"},
		{"every without span", with(append(hour, "--every", "10m")...), "--every needs --span"},
		{"range not whole spans", with(append(hour, "--span", "25m")...), "(1h) is not a whole number of --span 25m"},
		{"no sliding view fits", with(append(hour, "--span", "2h", "--every", "5m")...), "no view of --span 2h every 5m lies within"},
		{"negative span", with(append(hour, "--span", "-30m")...), "--span -30m is not positive"},
		{"zero window", with(append(hour, "--window", "0s")...), "--window 0s is not positive"},
		{"unknown family", []string{"view", "--model", "m", "--family", "quality", "--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:00Z"},
			`--family "quality": want drift, performance or shadow`},
		{"no family", []string{"view", "--model", "m", "--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:00Z"}, "--family is required"},
		{"no model", []string{"view", "--family", "drift"}, "--model is required"},
		{"bad drift tests", []string{"view", "--model", "m", "--family", "drift", "--drift-tests", "nope",
			"--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T11:00:00Z"}, "--drift-tests"},
		{"bad time", with("--from", "yesterday", "--to", "2026-12-06T11:00:00Z"), `--from "yesterday": want an RFC 3339 time`},
		{"no from", with("--to", "2026-12-06T11:00:00Z"), "--from is required"},
		{"bad format", with(append(hour, "--format", "xml")...), `--format must be table or json, not "xml"`},
		{"extra argument", with(append(hour, "SELECT")...), `unexpected argument "SELECT"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "view: ") {
				t.Errorf("err = %v, want one starting view: and containing %q", err, tt.wantErr)
			}
		})
	}
}

// Sliding instances end at multiples of every, as the services' views do,
// and start at or after --from; tumbling ones follow each other from it.
func TestViewInstances(t *testing.T) {
	at := func(s string) time.Time { x, _ := time.Parse("15:04", s); return x.AddDate(2026, 11, 5) }
	fmtIn := func(in [][2]time.Time) string {
		var out []string
		for _, x := range in {
			out = append(out, x[0].Format("15:04")+"-"+x[1].Format("15:04"))
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct {
		from, to    string
		span, every time.Duration
		want        string
	}{
		{"10:00", "11:00", 0, 0, "10:00-11:00"},
		{"10:00", "11:00", 20 * time.Minute, 0, "10:00-10:20 10:20-10:40 10:40-11:00"},
		{"10:05", "11:00", 30 * time.Minute, 15 * time.Minute, "10:15-10:45 10:30-11:00"},
		{"10:00", "10:50", 20 * time.Minute, 20 * time.Minute, "10:00-10:20 10:20-10:40"},
		{"10:00", "11:00", 10 * time.Minute, 30 * time.Minute, "10:20-10:30 10:50-11:00"},
	} {
		a := viewArgs{from: at(tt.from), to: at(tt.to), span: tt.span, every: tt.every, size: 5 * time.Minute}
		if got := fmtIn(a.instances()); got != tt.want {
			t.Errorf("%s-%s span %s every %s: %s, want %s", tt.from, tt.to, tt.span, tt.every, got, tt.want)
		}
	}
}
