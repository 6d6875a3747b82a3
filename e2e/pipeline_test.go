package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/tools/demo"
	"github.com/driftline/driftline/tools/synth"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestPipeline runs all five services on kfake + chDB against the synthetic
// world and checks what they wrote against the generator's truth.
func TestPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end pipeline takes about a minute; run without -short")
	}
	runPipeline(t, nil)
}

// runPipeline runs the demo on brokers (nil: the in-process kfake) with chDB
// under a temporary directory, and checks what the services wrote, to the
// topics and the tables, against the generator's truth.
func runPipeline(t *testing.T, brokers []string) {
	t.Helper()
	world := synth.Defaults(time.Now().Add(-10 * time.Minute))
	var retrain, dead []*kgo.Record
	var rows map[string]*store.Result
	inspect := func(ctx context.Context, st *demo.Stack) error {
		topics := stream.NewTopics(st.Config.Kafka.Prefix)
		var err error
		if retrain, err = readAll(ctx, st.Config.Kafka.Brokers, topics.Retrain()); err != nil {
			return err
		}
		if dead, err = readAll(ctx, st.Config.Kafka.Brokers, topics.DeadLetter()); err != nil {
			return err
		}
		rows = map[string]*store.Result{}
		for name, q := range map[string]string{
			"verdicts": `SELECT variant, feature, toUnixTimestamp64Milli(window_start), detected, value FROM metrics_latest
			             WHERE family = 'drift' AND metric = 'drift_score' AND ` + demo.Reported(world) + ` ORDER BY window_start`,
			"accuracy": `SELECT variant, toUnixTimestamp64Milli(window_start), value, sample_count FROM metrics_latest
			             WHERE family = 'performance' AND metric = 'accuracy' AND ` + demo.Reported(world),
			"agreement": `SELECT toUnixTimestamp64Milli(window_start), value, sample_count FROM metrics_latest
			              WHERE family = 'shadow' AND metric = 'agreement_rate' AND ` + demo.Reported(world),
			"views": `SELECT variant, metric, feature, toUnixTimestamp64Milli(window_start), value, detected, sample_count, windows
			          FROM metric_views_latest
			          WHERE (metric IN ('accuracy', 'agreement_rate') AND feature = '' OR metric = 'drift_score') AND ` + demo.ReportedViews(world, time.Hour),
			"predictions": `SELECT uniqExact(event_id) FROM predictions`,
			"deadletters": `SELECT error_class, source_topic FROM deadletters ORDER BY source_offset`,
		} {
			if rows[name], err = st.Store.Query(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	}
	// demo.Run gives up after its Timeout; the stack's shutdown after that is
	// bounded here, so a hang fails this test with every goroutine's stack
	// instead of stalling the whole test binary until go test's timeout.
	type result struct {
		s   *demo.Summary
		err error
	}
	ran := make(chan result, 1)
	go func() {
		s, err := demo.Run(context.Background(), demo.Options{Dir: t.TempDir(), World: world, Timeout: 4 * time.Minute, Inspect: inspect, Out: testWriter{t}, Brokers: brokers})
		ran <- result{s, err}
	}()
	var s *demo.Summary
	select {
	case r := <-ran:
		if r.err != nil {
			t.Fatal(r.err)
		}
		s = r.s
	case <-time.After(6 * time.Minute):
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
		t.Fatalf("demo.Run did not return within 6 minutes (4 for the run, 2 for shutdown); goroutines:\n%s", buf.String())
	}
	_, truth := world.Generate()

	// Drift: the injected feature is detected in the injection window, and
	// no feature in any variant is flagged before it.
	if s.DriftFeature != world.DriftFeature || !s.FirstDetected.Equal(world.DriftAt) {
		t.Errorf("first detection: feature %q at %s, want %q at %s", s.DriftFeature, s.FirstDetected, world.DriftFeature, world.DriftAt)
	}
	detectedAfter := 0
	for _, r := range rows["verdicts"].Rows {
		variant, feature, start, detected := r[0].(string), r[1].(string), time.UnixMilli(asInt(r[2])).UTC(), r[3].(bool)
		if !detected {
			if feature == world.DriftFeature && !start.Before(world.DriftAt) {
				t.Errorf("%s %s window %s: drift not detected after injection (score %v)", variant, feature, start, r[4])
			}
			continue
		}
		if start.Before(world.DriftAt) {
			t.Errorf("%s %s window %s: drift detected before injection (score %v)", variant, feature, start, r[4])
		}
		if feature != world.DriftFeature {
			t.Errorf("%s %s window %s: drift detected on a feature that did not drift (score %v)", variant, feature, start, r[4])
		}
		detectedAfter++
	}
	if detectedAfter == 0 {
		t.Error("no drift_score row detected drift")
	}

	// Exactly one retrain trigger, in the table and on the topic.
	if len(s.Triggers) != 1 {
		t.Errorf("triggers table has %d triggers, want 1: %+v", len(s.Triggers), s.Triggers)
	}
	if len(retrain) != 1 {
		t.Fatalf("%d records on the retrain topic, want 1", len(retrain))
	}
	var tr schemas.Trigger
	if err := schemas.Unmarshal(retrain[0].Value, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Action != schemas.ActionRetrain || tr.ModelID != world.ModelID || len(tr.Evidence) == 0 || tr.Evidence[0].Feature != world.DriftFeature ||
		!tr.Evidence[0].WindowStart.Equal(world.DriftAt) {
		t.Errorf("trigger = %+v, want a retrain of %s with %s evidence from %s", tr, world.ModelID, world.DriftFeature, world.DriftAt)
	}

	// Performance: every window's accuracy is exactly the generated one.
	windows := int(world.Duration / world.Window)
	if n := len(rows["accuracy"].Rows); n != 2*windows {
		t.Errorf("%d accuracy windows, want %d (two variants × %d)", n, 2*windows, windows)
	}
	for _, r := range rows["accuracy"].Rows {
		variant, start, got := r[0].(string), time.UnixMilli(asInt(r[1])).UTC(), r[2].(float64)
		want := float64(truth.Correct[start][variant]) / float64(truth.Requests[start])
		if math.Abs(got-want) > 1e-12 || asInt(r[3]) != int64(truth.Requests[start]) {
			t.Errorf("accuracy %s window %s = %v over %v labels, want %v over %d", variant, start, got, r[3], want, truth.Requests[start])
		}
	}
	if n := len(rows["agreement"].Rows); n != windows {
		t.Errorf("%d agreement windows, want %d", n, windows)
	}
	for _, r := range rows["agreement"].Rows {
		start, got := time.UnixMilli(asInt(r[0])).UTC(), r[1].(float64)
		want := float64(truth.Agree[start]) / float64(truth.Requests[start])
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("agreement window %s = %v, want %v", start, got, want)
		}
	}

	checkHourViews(t, world, truth, rows["views"])

	// Malformed input went to the dead-letter topic and table, and every
	// good record after it still flowed.
	if len(dead) != truth.Malformed || len(rows["deadletters"].Rows) != truth.Malformed {
		t.Errorf("dead letters: %d on the topic, %d in the table, want %d", len(dead), len(rows["deadletters"].Rows), truth.Malformed)
	}
	for _, d := range dead {
		var dl schemas.DeadLetter
		if err := schemas.Unmarshal(d.Value, &dl); err != nil {
			t.Fatal(err)
		}
		if dl.ErrorClass == "" || dl.ErrorMessage == "" || len(dl.Original) == 0 || dl.SourceTopic != "driftline.raw.app" {
			t.Errorf("dead letter lacks its reason or original: %+v", dl)
		}
	}
	if got := asInt(rows["predictions"].Rows[0][0]); got != int64(truth.Inferences) {
		t.Errorf("%d predictions stored, want %d", got, truth.Inferences)
	}
}

// checkHourViews checks the sliding one-hour views (the last hour at every
// window) against the generator's truth: each merges its twelve finished
// windows, so its accuracy and agreement are exactly those of its hour's
// requests; no feature drifts in an hour before the injection, and the
// last hour, mostly after it, finds the injected feature and only it.
func checkHourViews(t *testing.T, world synth.Options, truth synth.Truth, views *store.Result) {
	t.Helper()
	n := demo.SlidingViews(world, time.Hour)
	perWindow := int(time.Hour / world.Window)
	count := map[string]int{}
	lastDrifted := map[string]bool{}
	lastStart := world.Start.Add(world.Duration - time.Hour)
	for _, r := range views.Rows {
		variant, metric, feature := r[0].(string), r[1].(string), r[2].(string)
		start, value, detected := time.UnixMilli(asInt(r[3])).UTC(), r[4].(float64), r[5].(bool)
		count[metric+" "+variant]++
		if got := asInt(r[7]); got != int64(perWindow) {
			t.Errorf("view %s %s %s from %s merges %d windows, want %d", variant, metric, feature, start, got, perWindow)
		}
		var requests, right int
		for w := start; w.Before(start.Add(time.Hour)); w = w.Add(world.Window) {
			requests += truth.Requests[w]
			switch metric {
			case "accuracy":
				right += truth.Correct[w][variant]
			case "agreement_rate":
				right += truth.Agree[w]
			}
		}
		switch metric {
		case "accuracy", "agreement_rate":
			if want := float64(right) / float64(requests); math.Abs(value-want) > 1e-12 || asInt(r[6]) != int64(requests) {
				t.Errorf("view %s %s from %s = %v over %v, want %v over %d", variant, metric, start, value, r[6], want, requests)
			}
		case "drift_score":
			switch {
			case detected && feature != world.DriftFeature:
				t.Errorf("view %s from %s: drift detected on %s, which did not drift (score %v)", variant, start, feature, value)
			case detected && !start.Add(time.Hour).After(world.DriftAt):
				t.Errorf("view %s from %s: drift detected on %s in an hour before the injection (score %v)", variant, start, feature, value)
			}
			if start.Equal(lastStart) && detected {
				lastDrifted[variant] = true
			}
		}
	}
	for _, k := range []string{"accuracy production", "accuracy shadow", "agreement_rate shadow"} {
		if count[k] != n {
			t.Errorf("%d one-hour views of %s, want %d", count[k], k, n)
		}
	}
	if !lastDrifted["production"] || !lastDrifted["shadow"] {
		t.Errorf("the last hour's view found drift on %s in variants %v, want production and shadow", world.DriftFeature, lastDrifted)
	}
}

// readAll reads a topic from its start to its current end.
func readAll(ctx context.Context, brokers []string, topic string) ([]*kgo.Record, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var out []*kgo.Record
	for idle := 0; idle < 3; {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r); n++ })
		if n == 0 {
			idle++
		}
	}
	return out, nil
}

func asInt(x any) int64 {
	n, err := store.Int(x)
	if err != nil {
		return math.MinInt64 // never a valid count or time: the comparison fails
	}
	return n
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }
