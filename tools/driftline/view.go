package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/aggregate"
	"github.com/driftline/driftline/services/drift"
	"github.com/driftline/driftline/services/feedback"
	"github.com/driftline/driftline/services/shadow"
	"github.com/driftline/driftline/services/stats"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/window"
)

// viewColumns are the columns of the rows `driftline view` prints: those of
// the metrics table, with the number of windows each view merged.
var viewColumns = []store.Column{
	{Name: "window_start", Type: "DateTime64(3, 'UTC')"},
	{Name: "window_end", Type: "DateTime64(3, 'UTC')"},
	{Name: "windows", Type: "UInt32"},
	{Name: "model_version", Type: "String"},
	{Name: "variant", Type: "String"},
	{Name: "segment", Type: "String"},
	{Name: "family", Type: "String"},
	{Name: "feature", Type: "String"},
	{Name: "metric", Type: "String"},
	{Name: "value", Type: "Float64"},
	{Name: "threshold", Type: "Nullable(Float64)"},
	{Name: "p_value", Type: "Nullable(Float64)"},
	{Name: "detected", Type: "Bool"},
	{Name: "sample_count", Type: "UInt64"},
}

// viewArgs is a checked `driftline view` command line.
type viewArgs struct {
	dsn         string
	model       string
	family      string
	from, to    time.Time
	span, every time.Duration // zero span: one view over [from, to)
	size        time.Duration
	version     string
	variant     string
	segment     string
	tests       stats.Overrides
	metrics     map[string]bool
	features    map[string]bool
	format      string
	versionSet  bool
	variantSet  bool
	segmentSet  bool
}

func parseViewArgs(args []string, stderr io.Writer) (viewArgs, error) {
	fs := newFlags("view", stderr)
	dsn := fs.String("store", "", "ClickHouse DSN (clickhouse://... or chdb:///path); default the embedded store under --data")
	data := fs.String("data", defaultData, "data directory of the embedded store")
	model := fs.String("model", "", "model_id")
	family := fs.String("family", "", "window family: drift (its rows hold the drift, quality and ops metrics), performance or shadow")
	from := fs.String("from", "", `start of the range, on the window grid (RFC 3339, or "2006-01-02 15:04" in UTC)`)
	to := fs.String("to", "", "end of the range (excluded), on the window grid")
	span := fs.Duration("span", 0, "views of this span (whole windows) covering the range one after the other; 0: one view of the whole range")
	every := fs.Duration("every", 0, "with --span: a view of the span ending at every multiple of this (sliding)")
	size := fs.Duration("window", window.DefaultSize, "the services' window_size: the size of the stored windows to merge")
	version := fs.String("version", "", "only this model_version (default every one found)")
	variant := fs.String("variant", "", "only this variant (default every one found)")
	segment := fs.String("segment", "", "only this segment (default every one found)")
	tests := fs.String("drift-tests", "", "the drift-aggregator's drift_tests, so views test features as its windows do")
	metric := fs.String("metric", "", "only these metrics (comma-separated)")
	feature := fs.String("feature", "", "only these features (comma-separated)")
	format := fs.String("format", "table", "output format: table or json")
	if err := fs.Parse(args); err != nil {
		return viewArgs{}, err
	}
	if fs.NArg() > 0 {
		return viewArgs{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	a := viewArgs{model: *model, family: *family, span: *span, every: *every, size: *size,
		version: *version, variant: *variant, segment: *segment,
		format: *format, versionSet: set["version"], variantSet: set["variant"], segmentSet: set["segment"]}
	if a.model == "" {
		return viewArgs{}, errors.New("--model is required")
	}
	switch a.family {
	case "":
		return viewArgs{}, errors.New("--family is required: drift, performance or shadow")
	case "drift", schemas.FamilyPerformance, schemas.FamilyShadow:
	default:
		return viewArgs{}, fmt.Errorf("--family %q: want drift, performance or shadow (quality and ops rows come with drift)", a.family)
	}
	if a.format != "table" && a.format != "json" {
		return viewArgs{}, fmt.Errorf("--format must be table or json, not %q", a.format)
	}
	var err error
	if a.from, err = parseViewTime("from", *from); err != nil {
		return viewArgs{}, err
	}
	if a.to, err = parseViewTime("to", *to); err != nil {
		return viewArgs{}, err
	}
	if err := a.checkGrid(); err != nil {
		return viewArgs{}, err
	}
	if a.family == "drift" {
		if a.tests, err = stats.ParseTests(*tests); err != nil {
			return viewArgs{}, fmt.Errorf("--drift-tests: %w", err)
		}
	}
	a.metrics, a.features = set2(split(*metric)), set2(split(*feature))
	a.dsn = storeDSN(*data, *dsn)
	return a, nil
}

func set2(xs []string) map[string]bool {
	if len(xs) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// parseViewTime reads a bound: RFC 3339, or a UTC date and time without
// a zone as analysts type it.
func parseViewTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("--%s is required", name)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf(`--%s %q: want an RFC 3339 time such as 2026-12-06T10:00:00Z, or "2026-12-06 10:00" (UTC)`, name, s)
}

// checkGrid checks that every view is made of whole stored windows: the
// bounds on the windows' grid, span and every whole numbers of windows.
// window.View.check does this for configured views, but unexported and
// stricter (a span longer than one window, every at most the span), which
// an ad-hoc view need not be.
func (a viewArgs) checkGrid() error {
	sz := window.ShortDuration(a.size)
	if a.size <= 0 {
		return fmt.Errorf("--window %s is not positive", sz)
	}
	for _, b := range []struct {
		name string
		t    time.Time
	}{{"from", a.from}, {"to", a.to}} {
		if start, _ := window.Bounds(b.t, a.size); !start.Equal(b.t) {
			return fmt.Errorf("--%s %s is not on the %s window grid (windows start at %s, %s, ...)", b.name,
				b.t.Format(time.RFC3339Nano), sz, start.Format(time.RFC3339), start.Add(a.size).Format(time.RFC3339))
		}
	}
	if !a.from.Before(a.to) {
		return fmt.Errorf("--from %s is not before --to %s", a.from.Format(time.RFC3339), a.to.Format(time.RFC3339))
	}
	if a.span == 0 {
		if a.every != 0 {
			return errors.New("--every needs --span: the span of the sliding views")
		}
		return nil
	}
	switch {
	case a.span < 0:
		return fmt.Errorf("--span %s is not positive", window.ShortDuration(a.span))
	case a.span%a.size != 0:
		return fmt.Errorf("--span %s is not a whole number of %s windows", window.ShortDuration(a.span), sz)
	case a.every < 0:
		return fmt.Errorf("--every %s is not positive", window.ShortDuration(a.every))
	case a.every%a.size != 0:
		return fmt.Errorf("--every %s is not a whole number of %s windows", window.ShortDuration(a.every), sz)
	case a.every == 0 && a.to.Sub(a.from)%a.span != 0:
		return fmt.Errorf("the range %s to %s (%s) is not a whole number of --span %s", a.from.Format(time.RFC3339),
			a.to.Format(time.RFC3339), window.ShortDuration(a.to.Sub(a.from)), window.ShortDuration(a.span))
	}
	if len(a.instances()) == 0 {
		return fmt.Errorf("no view of --span %s every %s lies within %s to %s", window.ShortDuration(a.span), window.ShortDuration(a.every),
			a.from.Format(time.RFC3339), a.to.Format(time.RFC3339))
	}
	return nil
}

// instances returns the [start, end) of every view, oldest first. Sliding
// ends are multiples of every as window.View.Containing places them, so
// an ad-hoc sliding view is an instance the services would compute.
func (a viewArgs) instances() [][2]time.Time {
	var out [][2]time.Time
	switch {
	case a.span == 0:
		out = append(out, [2]time.Time{a.from, a.to})
	case a.every == 0:
		for s := a.from; s.Before(a.to); s = s.Add(a.span) {
			out = append(out, [2]time.Time{s, s.Add(a.span)})
		}
	default:
		for e := a.from.Truncate(a.every).Add(a.every); !e.After(a.to); e = e.Add(a.every) {
			if s := e.Add(-a.span); !s.Before(a.from) {
				out = append(out, [2]time.Time{s, e})
			}
		}
	}
	return out
}

// series is one model_version, variant and segment of the model.
type series struct{ version, variant, segment string }

func (s series) String() string {
	out := s.version + "/" + s.variant
	if s.segment != "" {
		out += "/" + s.segment
	}
	return out
}

// findSeries returns the series of the model and family with windows of
// the size stored in the range, narrowed by the flags given.
func findSeries(ctx context.Context, st store.Store, a viewArgs) ([]series, error) {
	where := []string{
		"model_id = " + store.Quote(a.model), "family = " + store.Quote(a.family),
		"window_start >= " + store.TimeLiteral(a.from), "window_end <= " + store.TimeLiteral(a.to),
		fmt.Sprintf("dateDiff('millisecond', window_start, window_end) = %d", a.size.Milliseconds()),
	}
	if a.versionSet {
		where = append(where, "model_version = "+store.Quote(a.version))
	}
	if a.variantSet {
		where = append(where, "variant = "+store.Quote(a.variant))
	}
	if a.segmentSet {
		where = append(where, "segment = "+store.Quote(a.segment))
	}
	res, err := st.Query(ctx, "SELECT DISTINCT model_version, variant, segment FROM window_states WHERE "+
		strings.Join(where, " AND ")+" ORDER BY model_version, variant, segment")
	if err != nil {
		return nil, fmt.Errorf("find series: %w", err)
	}
	out := make([]series, 0, len(res.Rows))
	for _, r := range res.Rows {
		if len(r) != 3 {
			return nil, fmt.Errorf("find series: row of %d columns, want 3", len(r))
		}
		out = append(out, series{fmt.Sprint(r[0]), fmt.Sprint(r[1]), fmt.Sprint(r[2])})
	}
	return out, nil
}

func cmdView(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, err := parseViewArgs(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("view: %w", err)
	}
	st, err := store.Open(ctx, a.dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := views(ctx, st, a, stderr)
	if err != nil {
		return fmt.Errorf("view: %w", err)
	}
	if a.format == "json" {
		return res.WriteJSON(stdout)
	}
	return res.WriteTable(stdout)
}

// views computes every view of a from the stored states of its windows,
// as Level2.flushViews does for configured views, and returns their rows.
func views(ctx context.Context, st store.Store, a viewArgs, stderr io.Writer) (*store.Result, error) {
	res := &store.Result{Columns: viewColumns}
	ss, err := findSeries(ctx, st, a)
	if err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		fmt.Fprintf(stderr, "no stored %s windows of model %s, family %s, from %s to %s\n", window.ShortDuration(a.size), a.model,
			a.family, a.from.Format(time.RFC3339), a.to.Format(time.RFC3339))
		return res, nil
	}
	var comp aggregate.Computer
	var refs *drift.References
	switch a.family {
	case "drift":
		if refs, err = drift.LoadProfiles(ctx, st, a.model); err != nil {
			return nil, err
		}
		if refs.For(a.model, "") == nil {
			return nil, fmt.Errorf("no reference profile of model %s in reference_profiles: drift is measured against one, "+
				"and the drift-aggregator stores each profile it reads from the references topic", a.model)
		}
		comp = &drift.Computer{Refs: refs, Tests: a.tests}
	case schemas.FamilyPerformance:
		comp = feedback.Computer{Store: st}
	case schemas.FamilyShadow:
		comp = shadow.Computer{}
	}
	// A Computer that merges partials (drift's) keeps a long view to one
	// partial per profile as its windows are read, as flushViews does.
	merger, _ := comp.(aggregate.Merger)
	missingRef := map[string]bool{}
	computed := 0
	for _, in := range a.instances() {
		span := in[1].Sub(in[0])
		for _, s := range ss {
			k := window.ViewKey{Key: window.Key{Family: a.family, ModelID: a.model, ModelVersion: s.version, Variant: s.variant,
				Segment: s.segment, Start: in[0], End: in[1]}, Window: a.size}
			v, err := aggregate.LoadView(ctx, st, k, merger)
			if err != nil {
				return nil, fmt.Errorf("%s %s to %s: %w", s, in[0].Format(time.RFC3339), in[1].Format(time.RFC3339), err)
			}
			if want := int(span / a.size); v.Windows < want {
				fmt.Fprintf(stderr, "%s to %s, %s: %d of %d windows stored\n", in[0].Format(time.RFC3339),
					in[1].Format(time.RFC3339), s, v.Windows, want)
			}
			if v.Windows == 0 {
				continue
			}
			computed++
			if refs != nil {
				for _, p := range v.Partials {
					if id := p.ReferenceID; id != "" && !missingRef[id] && refs.ByID(id) == nil {
						missingRef[id] = true
						fmt.Fprintf(stderr, "reference profile %s of stored windows is not in reference_profiles: "+
							"a view whose latest windows were measured against it has ops rows only\n", id)
					}
				}
			}
			ms, err := comp.Compute(ctx, v.Final)
			if err != nil {
				return nil, fmt.Errorf("compute %s %s to %s: %w", s, in[0].Format(time.RFC3339), in[1].Format(time.RFC3339), err)
			}
			sort.SliceStable(ms, func(i, j int) bool {
				x, y := &ms[i], &ms[j]
				if x.Family != y.Family {
					return x.Family < y.Family
				}
				if x.Feature != y.Feature {
					return x.Feature < y.Feature
				}
				return x.Metric < y.Metric
			})
			for i := range ms {
				m := &ms[i]
				if (a.metrics != nil && !a.metrics[m.Metric]) || (a.features != nil && !a.features[m.Feature]) {
					continue
				}
				res.Rows = append(res.Rows, viewRow(m, v.Windows))
			}
		}
	}
	if computed == 0 {
		fmt.Fprintln(stderr, "no view holds a stored window")
	}
	return res, nil
}

func viewRow(m *schemas.MetricWindow, windows int) []any {
	var th, pv any
	if m.Threshold != nil {
		th = *m.Threshold
	}
	if m.PValue != nil {
		pv = *m.PValue
	}
	return []any{m.WindowStart.UTC(), m.WindowEnd.UTC(), uint64(windows), m.ModelVersion, m.Variant, m.Segment,
		m.Family, m.Feature, m.Metric, m.Value, th, pv, m.Detected, uint64(max(m.SampleCount, 0))}
}
