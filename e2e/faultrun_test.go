package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftline/driftline/services/pipeline"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/tools/demo"
	"github.com/driftline/driftline/tools/synth"
	"github.com/twmb/franz-go/pkg/kgo"
)

// faultWorld is the fault suite's input: the synthetic model (production
// and shadow predictions, labels, three malformed records, a drift on
// income) in one-minute windows, small enough that a run takes seconds.
// start is fixed for a whole suite, so every run reads the same records.
func faultWorld(start time.Time) synth.Options {
	start = start.UTC().Truncate(time.Minute)
	return synth.Options{
		Seed: 11, ModelID: "fault-model", ModelVersion: "v1",
		Start: start, Duration: 6 * time.Minute, Tail: 3 * time.Minute, Window: time.Minute, PerWindow: 250,
		DriftFeature: "income", DriftAt: start.Add(3 * time.Minute), DriftShift: 1.5,
		LabelDelay: [2]time.Duration{10 * time.Second, 50 * time.Second},
		Malformed:  3, ReferenceN: 2000, ProdCorrect: 0.9, ShadowAgree: 0.85,
	}
}

// faultConfig is the pipeline configuration of one run: its own topics and
// consumer groups on the shared broker, windows of the world's size, and a
// label horizon just above the world's label delay.
func faultConfig(name string, brokers []string, w synth.Options) pipeline.Config {
	c := pipeline.Defaults()
	c.Kafka.Brokers = brokers
	c.Kafka.Prefix = "fault-" + name + "."
	c.GroupPrefix = "fault-" + name + "-"
	c.WindowSize = w.Window
	// Longer than any pause a fault makes in the input (a kill, a broker
	// restart, a restart's back-off): an idle partition hands its open
	// windows over early and the events after the pause come as revisions,
	// which this suite's exact comparison with the fault-free run would
	// see in late_events and in performance windows computed before all
	// their labels were in. Idleness has its own tests (services/window,
	// services/aggregate).
	c.IdleTimeout = 30 * time.Second
	c.LabelHorizon = w.LabelDelay[1] + 10*time.Second
	// Views short enough to finish within the world: they must come out
	// of every fault as they do without it, like the windows.
	c.Views = faultViews
	return c
}

// faultViews are the fault suite's longer views: three-minute tumbling
// views and the last three minutes at every one-minute window; those that
// lie wholly in the reported windows end at minutes 3, 4, 5 and 6.
const (
	faultViews    = "3m,3m/1m"
	faultViewSpan = 3 * time.Minute
)

// faultRun is one run of the pipeline on the shared broker with a fresh
// chDB directory: the same input, produced by the test, with a fault
// injected by the scenario between the two halves.
type faultRun struct {
	t     *testing.T
	world synth.Options
	truth synth.Truth
	recs  []synth.Record
	cfg   pipeline.Config
	store store.Store // the real chDB engine; a scenario may wrap it
	prod  *kgo.Client
	sent  int
}

// newFaultRun opens the store, creates the topics and publishes the
// reference profile; the services are started by the scenario.
func newFaultRun(t *testing.T, name string, brokers []string, w synth.Options) *faultRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, "chdb://"+filepath.Join(t.TempDir(), "clickhouse"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := store.Migrate(ctx, st, ""); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	r := &faultRun{t: t, world: w, cfg: faultConfig(name, brokers, w), store: st}
	r.recs, r.truth = w.Generate()
	if err := pipeline.Prepare(ctx, r.cfg, pipeline.Deps{Logger: r.logger()}, "app", "labels"); err != nil {
		t.Fatalf("create topics: %v", err)
	}
	if r.prod, err = kgo.NewClient(r.cfg.Kafka.Options(nil)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.prod.Close)
	prof, err := demo.Profile(w)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Publish(ctx, r.prod, stream.NewTopics(r.cfg.Kafka.Prefix), prof); err != nil {
		t.Fatalf("publish the reference profile: %v", err)
	}
	return r
}

// logger discards the services' logs: franz-go logs an error per failed
// dial while the broker is down. What stops the services is logged by
// start.
// DRIFTLINE_FAULT_LOG=1 shows them, for a run that does not finish.
func (r *faultRun) logger() *slog.Logger {
	if os.Getenv("DRIFTLINE_FAULT_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// produce sends the input's records up to share (0 to 1) of it.
func (r *faultRun) produce(share float64) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topics := stream.NewTopics(r.cfg.Kafka.Prefix)
	end := int(share * float64(len(r.recs)))
	for r.sent < end {
		n := min(500, end-r.sent)
		batch := make([]*kgo.Record, 0, n)
		for _, rec := range r.recs[r.sent : r.sent+n] {
			batch = append(batch, &kgo.Record{Topic: topics.Raw(rec.Source), Key: []byte(rec.Key), Value: rec.Value})
		}
		if err := stream.ProduceSync(ctx, r.prod, batch...); err != nil {
			r.t.Fatalf("producing records %d-%d: %v", r.sent, r.sent+n, err)
		}
		r.sent += n
	}
}

// services is one running instance of the five services, restarted like a
// supervised process when it stops with an error.
type services struct {
	kill     func() // a crash: no final flush, no commit
	stop     func() // a graceful shutdown: final flush and commit
	done     chan struct{}
	mu       sync.Mutex
	restarts []failure // what stopped an instance, oldest first
}

// failure is an error that stopped an instance, and when.
type failure struct {
	err error
	at  time.Time
}

// maxRestarts bounds how often an instance is restarted before the run
// gives up on it.
const maxRestarts = 10

// start runs the five services on st under the run's configuration until
// stop or kill; an instance that stops with an error is restarted from
// its committed offsets after a pause, as a container would be.
func (r *faultRun) start(st store.Store) *services {
	kctx, kill := stream.WithKill(context.Background())
	ctx, stop := context.WithCancel(kctx)
	s := &services{kill: kill, stop: stop, done: make(chan struct{})}
	deps := pipeline.Deps{Store: st, Logger: r.logger()}
	go func() {
		defer close(s.done)
		for {
			err := pipeline.RunAll(ctx, r.cfg, deps)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				err = errors.New("the services returned without an error before they were stopped")
			}
			s.mu.Lock()
			s.restarts = append(s.restarts, failure{err, time.Now()})
			n := len(s.restarts)
			s.mu.Unlock()
			r.t.Logf("the services stopped (%d): %v", n, err)
			if n > maxRestarts {
				return
			}
			// Backing off like a container runtime: 0.5 s, 1 s, 2 s, then
			// every 4 s.
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond << min(n, 4)):
			}
		}
	}()
	r.t.Cleanup(func() { s.halt(r.t, s.stop) })
	return s
}

// halt ends the instance with end (stop or kill) and waits for it.
func (s *services) halt(t *testing.T, end func()) {
	t.Helper()
	end()
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Errorf("the services did not stop within 60 s")
	}
}

// failures returns the errors that stopped the instance.
func (s *services) failures() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := make([]error, len(s.restarts))
	for i, f := range s.restarts {
		errs[i] = f.err
	}
	return errs
}

// failuresOutside returns the errors that stopped the instance before from
// or after to.
func (s *services) failuresOutside(from, to time.Time) []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, f := range s.restarts {
		if f.at.Before(from) || f.at.After(to) {
			errs = append(errs, f.err)
		}
	}
	return errs
}

// query runs q on the run's store.
func (r *faultRun) query(ctx context.Context, q string) (*store.Result, error) {
	return r.store.Query(ctx, q)
}

// counts are the row counts of the input tables: count() and distinct keys.
type counts struct {
	predictions, predictionIDs int64
	labels, labelIDs           int64
	deadletters, deadOffsets   int64
}

func (r *faultRun) counts(ctx context.Context) (counts, error) {
	res, err := r.query(ctx, `SELECT
	(SELECT count() FROM predictions), (SELECT uniqExact(event_id) FROM predictions),
	(SELECT count() FROM labels), (SELECT uniqExact(request_id) FROM labels),
	(SELECT count() FROM deadletters), (SELECT uniqExact(source_topic, source_partition, source_offset) FROM deadletters)`)
	if err != nil {
		return counts{}, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 6 {
		return counts{}, fmt.Errorf("counts: want one row of six values, got %v", res.Rows)
	}
	v := res.Rows[0]
	return counts{asInt(v[0]), asInt(v[1]), asInt(v[2]), asInt(v[3]), asInt(v[4]), asInt(v[5])}, nil
}

// metricRows returns the latest revision of every metric of the reported
// windows, one normalised line each (tab-separated), sorted: model, version, variant,
// family, metric, feature, segment, window, value (ten significant
// digits: the merge order of sketches may move the last bits), samples,
// verdict. computed_at and revision are left out: a replay legitimately
// recomputes a window later, or revises it once more.
//
// The views of the reported windows follow, their window written as its
// start and end and the number of windows merged.
func (r *faultRun) metricRows(ctx context.Context) ([]string, error) {
	out, err := r.rows(ctx, `SELECT model_id, model_version, variant, family, metric, feature, segment,
	toUnixTimestamp64Milli(window_start), value, sample_count, detected
FROM metrics_latest WHERE `+demo.Reported(r.world))
	if err != nil {
		return nil, err
	}
	views, err := r.rows(ctx, `SELECT model_id, model_version, variant, family, metric, feature, segment,
	toUnixTimestamp64Milli(window_start), value, sample_count, detected, toUnixTimestamp64Milli(window_end), windows
FROM metric_views_latest WHERE `+demo.ReportedViews(r.world, 0))
	if err != nil {
		return nil, err
	}
	for i := range views {
		views[i] = "view\t" + views[i]
	}
	return append(out, views...), nil
}

// rows returns the rows of a metrics query, one normalised line each,
// sorted; see metricRows.
func (r *faultRun) rows(ctx context.Context, q string) ([]string, error) {
	res, err := r.query(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Rows))
	for _, row := range res.Rows {
		var b strings.Builder
		for i, v := range row {
			if i > 0 {
				b.WriteByte('\t')
			}
			switch i {
			case 7, 11:
				b.WriteString(time.UnixMilli(asInt(v)).UTC().Format("15:04"))
			case 8:
				f, err := store.Float(v)
				if err != nil {
					return nil, fmt.Errorf("value %v: %w", v, err)
				}
				b.WriteString(strconv.FormatFloat(f, 'g', 10, 64))
			default:
				fmt.Fprintf(&b, "%v", v)
			}
		}
		out = append(out, b.String())
	}
	sort.Strings(out)
	return out, nil
}

// finished reports whether every reported window of every family has its
// metrics and every input row is stored: the run may be compared once this
// holds and nothing changes any more.
func (r *faultRun) finished(ctx context.Context) (bool, string, error) {
	windows := int64(r.world.Duration / r.world.Window)
	// The count metric of each family, per variant: drift writes ops
	// event_count, the labeler performance predictions, shadow pairs.
	res, err := r.query(ctx, fmt.Sprintf(`SELECT family, count() FROM metrics_latest
WHERE model_id = %s AND segment = '' AND %s AND metric IN ('event_count', 'predictions', 'pairs') GROUP BY family`,
		store.Quote(r.world.ModelID), demo.Reported(r.world)))
	if err != nil {
		return false, "", err
	}
	got := map[string]int64{}
	for _, row := range res.Rows {
		f, _ := row[0].(string)
		got[f] = asInt(row[1])
	}
	// The views, by the same count metrics.
	res, err = r.query(ctx, fmt.Sprintf(`SELECT family, count() FROM metric_views_latest
WHERE model_id = %s AND segment = '' AND %s AND metric IN ('event_count', 'predictions', 'pairs') GROUP BY family`,
		store.Quote(r.world.ModelID), demo.ReportedViews(r.world, faultViewSpan)))
	if err != nil {
		return false, "", err
	}
	views := map[string]int64{}
	for _, row := range res.Rows {
		f, _ := row[0].(string)
		views[f] = asInt(row[1])
	}
	c, err := r.counts(ctx)
	if err != nil {
		return false, "", err
	}
	nviews := int64(demo.SlidingViews(r.world, faultViewSpan))
	state := fmt.Sprintf("windows ops %d/%d performance %d/%d shadow %d/%d; views ops %d/%d performance %d/%d shadow %d/%d; "+
		"predictions %d/%d, labels %d/%d, dead letters %d/%d",
		got["ops"], 2*windows, got["performance"], 2*windows, got["shadow"], windows,
		views["ops"], 2*nviews, views["performance"], 2*nviews, views["shadow"], nviews,
		c.predictionIDs, r.truth.Inferences, c.labelIDs, r.truth.Labels, c.deadOffsets, r.truth.Malformed)
	done := got["ops"] >= 2*windows && got["performance"] >= 2*windows && got["shadow"] >= windows &&
		views["ops"] >= 2*nviews && views["performance"] >= 2*nviews && views["shadow"] >= nviews &&
		c.predictionIDs >= int64(r.truth.Inferences) && c.labelIDs >= int64(r.truth.Labels) && c.deadOffsets >= int64(r.truth.Malformed)
	return done, state, nil
}

// settle waits, up to timeout, until the run is finished and its metric
// rows stayed the same for quiet, and returns them.
func (r *faultRun) settle(timeout, quiet time.Duration, s ...*services) []string {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last []string
	var since time.Time
	state := "nothing read yet"
	for {
		done, st, err := r.finished(ctx)
		if err != nil && ctx.Err() == nil {
			r.t.Fatalf("reading progress: %v", err)
		}
		if st != "" {
			state = st
		}
		if done {
			rows, err := r.metricRows(ctx)
			if err != nil && ctx.Err() == nil {
				r.t.Fatalf("reading metrics: %v", err)
			}
			if err == nil && !equalLines(rows, last) {
				last, since = rows, time.Now()
			}
			if err == nil && time.Since(since) >= quiet {
				return rows
			}
		}
		for _, x := range s {
			if f := x.failures(); len(f) > maxRestarts {
				r.t.Fatalf("the services stopped %d times; last: %v", len(f), f[len(f)-1])
			}
		}
		select {
		case <-ctx.Done():
			r.t.Fatalf("the run did not finish within %s: %s\n%s%s", timeout, state, r.windowsFinished(), r.partialsState())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// windowsFinished lists, per family and variant, the reported windows with
// metrics, to show which are missing when a run does not finish.
func (r *faultRun) windowsFinished() string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := r.query(ctx, `SELECT family, variant, arrayStringConcat(arraySort(groupUniqArray(formatDateTime(window_start, '%H:%i'))), ' ')
FROM metrics_latest WHERE `+demo.Reported(r.world)+` GROUP BY family, variant ORDER BY family, variant`)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, row := range res.Rows {
		fmt.Fprintf(&b, "  %v %v: %v\n", row[0], row[1], row[2])
	}
	return b.String()
}

// waitFor polls cond every 300 ms until it holds or timeout passes.
func (r *faultRun) waitFor(what string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		ok, err := cond(ctx)
		if err != nil && ctx.Err() == nil {
			r.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			r.t.Fatalf("no %s within %s", what, timeout)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// someMetrics holds once the services have finished a first window: the
// pipeline is mid-stream, with later windows open.
func (r *faultRun) someMetrics(ctx context.Context) (bool, error) {
	res, err := r.query(ctx, "SELECT count() FROM metrics")
	if err != nil {
		return false, err
	}
	return len(res.Rows) == 1 && asInt(res.Rows[0][0]) > 0, nil
}

// check compares the run's final metrics with the baseline's and its input
// tables with the truth: every input row stored exactly once.
func (r *faultRun) check(baseline, got []string) {
	r.t.Helper()
	if d := diffLines(baseline, got); d != "" {
		r.t.Errorf("final metrics differ from the fault-free run (%d rows there, %d here); - baseline only, + this run only:\n%s",
			len(baseline), len(got), d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := r.counts(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, x := range []struct {
		table      string
		rows, keys int64
		want       int
	}{
		{"predictions", c.predictions, c.predictionIDs, r.truth.Inferences},
		{"labels", c.labels, c.labelIDs, r.truth.Labels},
		{"deadletters", c.deadletters, c.deadOffsets, r.truth.Malformed},
	} {
		switch {
		case x.keys != int64(x.want):
			r.t.Errorf("%s: %d distinct keys, want %d (no loss)", x.table, x.keys, x.want)
		case x.rows != x.keys:
			r.t.Errorf("%s: %d rows for %d distinct keys, want one each (no double count)", x.table, x.rows, x.keys)
		}
	}
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// diffLines lists the lines only in want (-) and only in got (+), both
// sorted; "" when they are equal.
func diffLines(want, got []string) string {
	var b strings.Builder
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || i < len(want) && want[i] < got[j]:
			fmt.Fprintf(&b, "- %s\n", want[i])
			i++
		case i == len(want) || got[j] < want[i]:
			fmt.Fprintf(&b, "+ %s\n", got[j])
			j++
		default:
			i++
			j++
		}
	}
	return b.String()
}
