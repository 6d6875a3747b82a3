package demo

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/drift"
	"github.com/driftline/driftline/services/pipeline"
	"github.com/driftline/driftline/services/reference"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/trigger"
	"github.com/driftline/driftline/tools/synth"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Options configure a demo run.
type Options struct {
	Dir     string        // data directory, kept afterwards
	World   synth.Options // what the synthetic producer generates
	Timeout time.Duration // for the whole run
	Out     io.Writer     // progress and summary; nil discards
	// Brokers, if set, are an external Kafka cluster's seed brokers: no
	// in-process Kafka starts and the topics are created there if missing.
	Brokers []string
	// Inspect, if set, runs after the summary while the stack still runs,
	// so a test can read the topics too.
	Inspect func(ctx context.Context, st *Stack) error
}

// Config is the pipeline configuration of the demo: five-minute windows
// and a label horizon just above the synthetic label delay, so that the
// reported windows finish soon after the producer stops (its tail of
// traffic moves the watermarks past them). The idle timeout stays the
// default: a partition the loaded machine leaves unread for a few seconds
// must not hand its windows over before their events are in.
func Config() pipeline.Config {
	c := pipeline.Defaults()
	// Labels come 5 to 15 minutes after their predictions.
	c.LabelHorizon = 16 * time.Minute
	return c
}

// Summary is what a demo run found.
type Summary struct {
	Elapsed  time.Duration
	Produced int
	Truth    synth.Truth
	Windows  int

	DriftFeature  string
	DriftAt       time.Time
	FirstDetected time.Time // zero if never
	DetectedScore float64
	Threshold     float64
	Triggers      []schemas.Trigger

	Accuracy map[string]float64 // by variant, over all windows
	// LastHour is the sliding one-hour view that ends with the reported
	// windows: merged from their finished windows, never read again.
	LastHour    LastHour
	Agreement   float64
	DeadLetters int
}

// LastHour is what the last hour's view says.
type LastHour struct {
	Start, End time.Time
	Windows    int
	Drifted    []string           // features whose drift_score detected drift (production)
	Accuracy   map[string]float64 // by variant
}

// Run starts the stack, publishes the reference profile, produces the
// synthetic stream, waits until every window is finished and summarises.
func Run(ctx context.Context, o Options) (*Summary, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if o.Timeout <= 0 {
		o.Timeout = 4 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	began := time.Now()
	w := o.World
	windows := int(w.Duration / w.Window)

	var metricsSeen, triggersSeen atomic.Int64
	cfg := Config()
	cfg.WindowSize = w.Window
	deps := pipeline.Deps{
		OnMetrics: func(ms []schemas.MetricWindow) { metricsSeen.Add(int64(len(ms))) },
		OnTrigger: func(schemas.Trigger) { triggersSeen.Add(1) },
	}
	var st *Stack
	var err error
	if len(o.Brokers) > 0 {
		fmt.Fprintf(out, "using Kafka at %s and starting embedded ClickHouse in %s\n", strings.Join(o.Brokers, ","), o.Dir)
		st, err = StartStackOn(ctx, o.Dir, cfg, deps, o.Brokers)
	} else {
		fmt.Fprintf(out, "starting in-process Kafka and embedded ClickHouse in %s\n", o.Dir)
		st, err = StartStack(ctx, o.Dir, cfg, deps, 0)
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()

	cl, err := kgo.NewClient(st.Config.Kafka.Options(nil)...)
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	defer cl.Close()
	topics := stream.NewTopics(st.Config.Kafka.Prefix)

	prof, err := Profile(w)
	if err != nil {
		return nil, err
	}
	if err := Publish(ctx, cl, topics, prof); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "published reference profile %s for %s %s (%d rows, %d features)\n",
		short(prof.ReferenceID), prof.ModelID, prof.ModelVersion, prof.RowCount, len(prof.Features))

	recs, truth := w.Generate()
	fmt.Fprintf(out, "producing %d raw records: %d windows of %s from %s, drift on %q from %s\n",
		len(recs), windows, w.Window, w.Start.Format("15:04"), w.DriftFeature, w.DriftAt.Format("15:04"))
	last := time.Now()
	for i := 0; i < len(recs); i += 2000 {
		batch := make([]*kgo.Record, 0, 2000)
		for _, r := range recs[i:min(i+2000, len(recs))] {
			batch = append(batch, &kgo.Record{Topic: topics.Raw(r.Source), Key: []byte(r.Key), Value: r.Value})
		}
		if err := stream.ProduceSync(ctx, cl, batch...); err != nil {
			return nil, err
		}
		if time.Since(last) > 2*time.Second {
			last = time.Now()
			fmt.Fprintf(out, "  produced %d/%d records · metrics written %d\n", min(i+2000, len(recs)), len(recs), metricsSeen.Load())
		}
	}
	fmt.Fprintf(out, "  produced %d/%d records\n", len(recs), len(recs))

	// Wait for every window of every family, and for the dead letters.
	hours := SlidingViews(w, time.Hour)
	want := map[string]int{"ops": windows * 2, "performance": windows * 2, "shadow": windows,
		"views": hours * 5} // ops and performance of two variants, shadow of one
	for {
		got, err := closed(ctx, st.Store, w)
		if err != nil {
			return nil, err
		}
		if got["views"], err = count(ctx, st.Store, fmt.Sprintf(`SELECT count() FROM metric_views_latest
WHERE model_id = %s AND metric IN ('event_count', 'predictions', 'pairs') AND %s`, store.Quote(w.ModelID), ReportedViews(w, time.Hour))); err != nil {
			return nil, err
		}
		dead, err := count(ctx, st.Store, "SELECT count() FROM deadletters")
		if err != nil {
			return nil, err
		}
		done := dead >= truth.Malformed
		for f, n := range want {
			done = done && got[f] >= n
		}
		// The last line shows the finished count, not one from up to
		// 2 s before.
		if done || time.Since(last) > 2*time.Second {
			last = time.Now()
			fmt.Fprintf(out, "  windows finished: drift %d/%d · performance %d/%d · shadow %d/%d · hour views %d/%d · dead letters %d · triggers %d\n",
				got["ops"], want["ops"], got["performance"], want["performance"], got["shadow"], want["shadow"],
				got["views"], want["views"], dead, triggersSeen.Load())
		}
		if done {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for windows to finish: %w (finished: %v of %v)", ctx.Err(), got, want)
		case err := <-st.Done():
			return nil, fmt.Errorf("services stopped: %w", err)
		case <-time.After(300 * time.Millisecond):
		}
	}
	// The trigger service reads the metrics topic after they were written;
	// give it a moment to act on the last windows.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		n, err := count(ctx, st.Store, "SELECT count() FROM metrics")
		if err != nil {
			return nil, err
		}
		if int64(n) <= metricsSeen.Load() && triggersSeen.Load() > 0 {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(time.Second)

	s, err := summarise(ctx, st.Store, w)
	if err != nil {
		return nil, err
	}
	s.Elapsed, s.Produced, s.Truth, s.Windows = time.Since(began), len(recs), truth, windows
	if o.Inspect != nil {
		if err := o.Inspect(ctx, st); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Profile builds the reference profile of the synthetic model's training data.
func Profile(w synth.Options) (*schemas.ReferenceProfile, error) {
	num, cat := w.ReferenceColumns()
	var cols []reference.Column
	for name, v := range num {
		cols = append(cols, reference.Column{Name: name, Kind: schemas.KindNumeric, Numbers: v})
	}
	for name, v := range cat {
		cols = append(cols, reference.Column{Name: name, Kind: schemas.KindCategorical, Strings: v})
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].Name < cols[j].Name })
	p, err := reference.FromColumns(w.ModelID, w.ModelVersion, cols)
	if err != nil {
		return nil, fmt.Errorf("reference profile: %w", err)
	}
	return p, nil
}

// Publish writes a profile to the compacted references topic.
func Publish(ctx context.Context, cl *kgo.Client, t stream.Topics, p *schemas.ReferenceProfile) error {
	r, err := stream.Record(t.References(), drift.ReferenceKey(p.ModelID, p.ModelVersion), p)
	if err != nil {
		return err
	}
	return stream.ProduceSync(ctx, cl, r)
}

func closed(ctx context.Context, st store.Store, w synth.Options) (map[string]int, error) {
	res, err := st.Query(ctx, fmt.Sprintf(`SELECT family, count() FROM metrics_latest
WHERE model_id = %s AND %s AND metric IN ('event_count', 'predictions', 'pairs') GROUP BY family`, store.Quote(w.ModelID), Reported(w)))
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range res.Rows {
		f, _ := r[0].(string)
		out[f] = int(num(r[1]))
	}
	return out, nil
}

// Reported is the SQL condition selecting the windows a run reports on
// (not the tail's, which stay open).
func Reported(w synth.Options) string {
	return fmt.Sprintf("window_start >= toDateTime64(%d, 3, 'UTC') AND window_start < toDateTime64(%d, 3, 'UTC')",
		w.Start.Unix(), w.Start.Add(w.Duration).Unix())
}

// SlidingViews is the number of sliding views of span, one ending at
// every window, that lie wholly in the windows a run reports on.
func SlidingViews(w synth.Options, span time.Duration) int {
	if w.Duration < span || w.Window <= 0 {
		return 0
	}
	return int((w.Duration-span)/w.Window) + 1
}

// ReportedViews is the SQL condition selecting the views of span (of any
// span if 0) that lie wholly in the windows a run reports on.
func ReportedViews(w synth.Options, span time.Duration) string {
	cond := fmt.Sprintf("window_start >= toDateTime64(%d, 3, 'UTC') AND window_end <= toDateTime64(%d, 3, 'UTC')",
		w.Start.Unix(), w.Start.Add(w.Duration).Unix())
	if span > 0 {
		cond += fmt.Sprintf(" AND dateDiff('millisecond', window_start, window_end) = %d", span.Milliseconds())
	}
	return cond
}

func count(ctx context.Context, st store.Store, q string) (int, error) {
	res, err := st.Query(ctx, q)
	if err != nil {
		return 0, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return 0, fmt.Errorf("%s: want one value", q)
	}
	return int(num(res.Rows[0][0])), nil
}

func summarise(ctx context.Context, st store.Store, w synth.Options) (*Summary, error) {
	s := &Summary{DriftFeature: w.DriftFeature, DriftAt: w.DriftAt, Accuracy: map[string]float64{}}
	res, err := st.Query(ctx, fmt.Sprintf(`SELECT feature, toUnixTimestamp64Milli(min(window_start)),
  argMin(value, window_start), argMin(threshold, window_start)
FROM metrics_latest WHERE model_id = %s AND %s AND variant = 'production' AND family = 'drift' AND metric = 'drift_score' AND detected
GROUP BY feature ORDER BY min(window_start), feature`, store.Quote(w.ModelID), Reported(w)))
	if err != nil {
		return nil, err
	}
	if len(res.Rows) > 0 {
		r := res.Rows[0]
		s.DriftFeature, _ = r[0].(string)
		s.FirstDetected = time.UnixMilli(int64(num(r[1]))).UTC()
		s.DetectedScore, s.Threshold = num(r[2]), num(r[3])
	}
	res, err = st.Query(ctx, fmt.Sprintf(`SELECT variant,
  sumIf(value * sample_count, metric = 'accuracy') / sumIf(sample_count, metric = 'accuracy')
FROM metrics_latest WHERE model_id = %s AND %s AND family = 'performance' GROUP BY variant`, store.Quote(w.ModelID), Reported(w)))
	if err != nil {
		return nil, err
	}
	for _, r := range res.Rows {
		v, _ := r[0].(string)
		s.Accuracy[v] = num(r[1])
	}
	res, err = st.Query(ctx, fmt.Sprintf(`SELECT sumIf(value * sample_count, metric = 'agreement_rate') / sumIf(sample_count, metric = 'agreement_rate')
FROM metrics_latest WHERE model_id = %s AND %s AND family = 'shadow'`, store.Quote(w.ModelID), Reported(w)))
	if err != nil {
		return nil, err
	}
	if len(res.Rows) == 1 {
		s.Agreement = num(res.Rows[0][0])
	}
	if s.LastHour, err = lastHour(ctx, st, w); err != nil {
		return nil, err
	}
	if s.Triggers, err = trigger.ForModel(ctx, st, w.ModelID); err != nil {
		return nil, err
	}
	if s.DeadLetters, err = count(ctx, st, "SELECT count() FROM deadletters"); err != nil {
		return nil, err
	}
	return s, nil
}

func lastHour(ctx context.Context, st store.Store, w synth.Options) (LastHour, error) {
	end := w.Start.Add(w.Duration)
	h := LastHour{Start: end.Add(-time.Hour), End: end, Accuracy: map[string]float64{}}
	res, err := st.Query(ctx, fmt.Sprintf(`SELECT variant, family, metric, feature, value, detected, windows FROM metric_views_latest
WHERE model_id = %s AND window_start = %s AND window_end = %s
  AND (metric = 'drift_score' AND detected AND variant = 'production' OR metric = 'accuracy' AND feature = '')
ORDER BY variant, feature`,
		store.Quote(w.ModelID), store.TimeLiteral(h.Start), store.TimeLiteral(h.End)))
	if err != nil {
		return h, fmt.Errorf("last hour's view: %w", err)
	}
	for _, r := range res.Rows {
		variant, _ := r[0].(string)
		feature, _ := r[3].(string)
		if r[2] == "accuracy" {
			h.Accuracy[variant] = num(r[4])
		} else {
			h.Drifted = append(h.Drifted, feature)
		}
		h.Windows = max(h.Windows, int(num(r[6])))
	}
	return h, nil
}

// Print writes the summary for a person.
func (s *Summary) Print(w io.Writer, dataFlag string) {
	fmt.Fprintf(w, "\nDriftline demo finished in %s: %d raw records (%d inferences, %d labels, %d malformed) in %d five-minute windows.\n",
		s.Elapsed.Round(100*time.Millisecond), s.Produced, s.Truth.Inferences, s.Truth.Labels, s.Truth.Malformed, s.Windows)
	if s.FirstDetected.IsZero() {
		fmt.Fprintf(w, "Drift: none detected (injected on %q at %s).\n", s.DriftFeature, s.DriftAt.Format("15:04"))
	} else {
		fmt.Fprintf(w, "Drift: feature %q first detected in window %s–%s UTC (drift score %.3f, threshold %.2f); injected at %s.\n",
			s.DriftFeature, s.FirstDetected.Format("2006-01-02 15:04"), s.FirstDetected.Add(5*time.Minute).Format("15:04"),
			s.DetectedScore, s.Threshold, s.DriftAt.Format("15:04"))
	}
	if len(s.Triggers) == 0 {
		fmt.Fprintln(w, "Trigger: none emitted.")
	}
	for _, t := range s.Triggers {
		fmt.Fprintf(w, "Trigger: %s %s (policy %s, severity %s) for %s %s at %s, on driftline.triggers.retrain.\n",
			t.Action, t.TriggerID, t.Policy, t.Severity, t.ModelID, t.ModelVersion, t.CreatedAt.Format("15:04"))
	}
	fmt.Fprintf(w, "Performance: accuracy production %.3f, shadow %.3f; shadow agreement %.3f.\n",
		s.Accuracy["production"], s.Accuracy["shadow"], s.Agreement)
	if h := s.LastHour; h.Windows > 0 {
		drift := "no drift"
		if len(h.Drifted) > 0 {
			drift = "drift on " + strings.Join(h.Drifted, ", ")
		}
		fmt.Fprintf(w, "Last hour (%s–%s UTC, a view merged from %d finished windows): %s; accuracy production %.3f, shadow %.3f.\n",
			h.Start.Format("15:04"), h.End.Format("15:04"), h.Windows, drift, h.Accuracy["production"], h.Accuracy["shadow"])
	}
	fmt.Fprintf(w, "Dead letters: %d (in driftline.deadletter and the deadletters table).\n", s.DeadLetters)
	fmt.Fprintf(w, "\nThe data stays. Query it with:\n  bin/driftline sql%s \"SELECT window_start, variant, feature, round(value, 3) AS drift_score FROM metrics_latest WHERE family = 'drift' AND metric = 'drift_score' AND detected ORDER BY window_start, variant LIMIT 10\"\n", dataFlag)
}

// num reads a numeric result; NaN marks a value that is not one, so a
// broken query shows in the summary instead of passing as zero.
func num(x any) float64 {
	f, err := store.Float(x)
	if err != nil || x == nil {
		return math.NaN()
	}
	return f
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
