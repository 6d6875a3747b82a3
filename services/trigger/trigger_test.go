package trigger

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/devkafka"
	"github.com/driftline/driftline/services/policy"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/store/storetest"
	"github.com/driftline/driftline/services/stream"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

var topics = stream.NewTopics("")

// openStore opens a migrated chDB store for one test.
func openStore(t *testing.T) store.Store {
	st, _ := storetest.Open(t)
	return st
}

// kafka starts an in-process cluster with Driftline's topics and returns a
// producer client for it.
func kafka(t *testing.T, ctx context.Context) (*devkafka.Cluster, *kgo.Client) {
	t.Helper()
	k, err := devkafka.Start(devkafka.Options{Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	cl, err := kgo.NewClient(stream.Config{Brokers: k.Brokers()}.Options(nil)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := stream.EnsureTopics(ctx, cl, topics, stream.Layout{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	return k, cl
}

// consume reads n records of topic from the start, within ctx.
func consume(t *testing.T, ctx context.Context, k *devkafka.Cluster, topic string, n int) kgo.Fetches {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var all kgo.Fetches
	got := 0
	for got < n && ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if n := fs.NumRecords(); n > 0 {
			got += n
			all = append(all, fs...)
		}
	}
	if got != n {
		t.Fatalf("read %d records from %s, want %d", got, topic, n)
	}
	return all
}

// endOffsets returns how many records each topic holds.
func endOffsets(t *testing.T, ctx context.Context, cl *kgo.Client, ts ...string) map[string]int64 {
	t.Helper()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, ts...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Topic] += o.Offset })
	return out
}

func window(start time.Time, feature string, detected bool, value float64) schemas.MetricWindow {
	th := 0.1
	return schemas.MetricWindow{ModelID: "m", ModelVersion: "v1", Variant: schemas.VariantProduction,
		WindowStart: start, WindowEnd: start.Add(5 * time.Minute), Family: schemas.FamilyDrift, Feature: feature,
		Metric: "drift_score", Value: value, Threshold: &th, Detected: detected, SampleCount: 500, ReferenceCount: 1000,
		ReferenceID: "ref-1", ComputedAt: start.Add(20 * time.Minute)}
}

const rollbackPolicy = `
policies:
  - name: drift-rollback
    family: drift
    metric: drift_score
    action: rollback
    severity: critical
    cooldown: 6h
`

// The handler turns metric windows consumed from driftline.metrics into
// exactly one trigger per firing, on the action's topic and in the table;
// the triggers read back seed a restarted evaluator so that a replay of
// the same windows fires nothing.
func TestHandler(t *testing.T) {
	w := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	rollback, err := policy.Load(strings.NewReader(rollbackPolicy), "rollback.yaml")
	if err != nil {
		t.Fatal(err)
	}
	drifted := []schemas.MetricWindow{
		window(w, "income", true, 0.31),
		window(w, "age", false, 0.02),
		window(w.Add(5*time.Minute), "income", true, 0.35),
		window(w.Add(5*time.Minute), "age", false, 0.03),
	}
	tests := []struct {
		name     string
		set      *policy.Set
		windows  []schemas.MetricWindow
		topic    string // where the trigger goes; "" for none
		want     schemas.Trigger
		evidence []schemas.MetricWindow
	}{
		{"default policy retrains", policy.Default(), drifted, topics.Retrain(), schemas.Trigger{
			TriggerID: policy.TriggerID("default-drift", "m", "v1", w), ModelID: "m", ModelVersion: "v1",
			Policy: "default-drift", Action: schemas.ActionRetrain, Severity: "high",
			CreatedAt: w.Add(5 * time.Minute), CooldownUntil: w.Add(5*time.Minute + 24*time.Hour),
		}, drifted[:1]},
		{"rollback goes to the control topic", rollback, drifted, topics.Control(), schemas.Trigger{
			TriggerID: policy.TriggerID("drift-rollback", "m", "v1", w), ModelID: "m", ModelVersion: "v1",
			Policy: "drift-rollback", Action: schemas.ActionRollback, Severity: "critical",
			CreatedAt: w.Add(5 * time.Minute), CooldownUntil: w.Add(5*time.Minute + 6*time.Hour),
		}, drifted[:1]},
		{"no drift, no trigger", policy.Default(), []schemas.MetricWindow{
			window(w, "income", false, 0.01), window(w.Add(5*time.Minute), "income", false, 0.02),
		}, "", schemas.Trigger{}, nil},
		{"shadow drift does not retrain production", policy.Default(), func() []schemas.MetricWindow {
			ms := []schemas.MetricWindow{window(w, "income", true, 0.3), window(w.Add(5*time.Minute), "income", true, 0.3)}
			for i := range ms {
				ms[i].Variant = schemas.VariantShadow
			}
			return ms
		}(), "", schemas.Trigger{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st := openStore(t)
			k, prod := kafka(t, ctx)
			var rs []*kgo.Record
			for i := range tt.windows {
				r, err := stream.Record(topics.Metrics(), tt.windows[i].ModelID, &tt.windows[i])
				if err != nil {
					t.Fatal(err)
				}
				rs = append(rs, r)
			}
			// Something else on the topic is skipped, not fatal.
			rs = append(rs, &kgo.Record{Topic: topics.Metrics(), Key: []byte("m"), Value: []byte("not a metric")})
			if err := stream.ProduceSync(ctx, prod, rs...); err != nil {
				t.Fatal(err)
			}
			fetches := consume(t, ctx, k, topics.Metrics(), len(rs))

			var seen []schemas.Trigger
			h := &Handler{Evaluator: policy.NewEvaluator(tt.set), Producer: prod, Store: st, Topics: topics,
				OnTrigger: func(tr schemas.Trigger) { seen = append(seen, tr) }}
			if err := h.Handle(ctx, fetches); err != nil {
				t.Fatal(err)
			}
			offs, err := h.Flush(ctx, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if want := (stream.Offsets{topics.Metrics(): {0: int64(len(rs))}}); !reflect.DeepEqual(offs, want) {
				t.Errorf("offsets %v, want %v", offs, want)
			}
			// Nothing new: nothing produced, nothing more to commit.
			if offs, err := h.Flush(ctx, time.Now()); err != nil || len(offs) != 0 {
				t.Errorf("second flush: %v, %v; want no offsets", offs, err)
			}

			wantN := map[string]int64{topics.Retrain(): 0, topics.Control(): 0}
			var want []schemas.Trigger
			if tt.topic != "" {
				wantN[tt.topic] = 1
				tr := tt.want
				tr.Evidence = tt.evidence
				want = []schemas.Trigger{tr}
			}
			if got := endOffsets(t, ctx, prod, topics.Retrain(), topics.Control()); !reflect.DeepEqual(got, wantN) {
				t.Errorf("records per topic %v, want %v", got, wantN)
			}
			if !reflect.DeepEqual(seen, want) {
				t.Errorf("OnTrigger saw %+v, want %+v", seen, want)
			}
			if tt.topic != "" {
				recs := consume(t, ctx, k, tt.topic, 1).Records()
				var got schemas.Trigger
				if err := schemas.Unmarshal(recs[0].Value, &got); err != nil {
					t.Fatal(err)
				}
				if string(recs[0].Key) != "m" {
					t.Errorf("trigger keyed %q, want the model id", recs[0].Key)
				}
				if !reflect.DeepEqual(got, want[0]) {
					t.Errorf("trigger on %s\n got %+v\nwant %+v", tt.topic, got, want[0])
				}
			}

			// The audit table holds the same triggers, evidence included.
			recent, err := Recent(ctx, st, w)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(recent, want) {
				t.Errorf("Recent\n got %+v\nwant %+v", recent, want)
			}

			// A restarted service seeds its evaluator from the table; the
			// replayed windows then fire nothing, while an evaluator that
			// forgot them fires again.
			for _, seed := range []bool{true, false} {
				ev := policy.NewEvaluator(tt.set)
				if seed {
					if n := ev.Seed(recent); n != len(want) {
						t.Errorf("Seed applied %d of %d", n, len(want))
					}
				}
				var again []schemas.Trigger
				for _, m := range tt.windows {
					again = append(again, ev.Observe(m)...)
				}
				again = append(again, ev.Flush()...)
				wantAgain := len(want)
				if seed {
					wantAgain = 0
				}
				if len(again) != wantAgain {
					t.Errorf("seeded %v: replay fired %d triggers, want %d", seed, len(again), wantAgain)
				}
			}

			// Replaying the records through a handler seeded from the
			// table adds nothing to the topics or the table.
			h2 := &Handler{Evaluator: policy.NewEvaluator(tt.set), Producer: prod, Store: st, Topics: topics}
			h2.Evaluator.Seed(recent)
			if err := h2.Handle(ctx, fetches); err != nil {
				t.Fatal(err)
			}
			if _, err := h2.Flush(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}
			if got := endOffsets(t, ctx, prod, topics.Retrain(), topics.Control()); !reflect.DeepEqual(got, wantN) {
				t.Errorf("after a seeded replay: records per topic %v, want %v", got, wantN)
			}
			res, err := st.Query(ctx, "SELECT count() FROM triggers")
			if err != nil {
				t.Fatal(err)
			}
			if n := res.Rows[0][0].(uint64); n != uint64(len(want)) {
				t.Errorf("%d rows in the triggers table, want %d", n, len(want))
			}
		})
	}
}

// failingStore fails every insert, around the real store.
type failingStore struct{ store.Store }

func (failingStore) Insert(context.Context, string, string, []store.Row) error {
	return errors.New("injected insert failure")
}

// A Flush that fails part-way loses no trigger: the service stops without
// committing, restarts seeded from the triggers table and replays the
// metrics. The table is written only after the topic, so a trigger in the
// table was published; a trigger published but not recorded is published
// again with the same id, which consumers deduplicate.
func TestFlushFailureLosesNoTrigger(t *testing.T) {
	w := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		breakKafka  bool
		breakStore  bool
		wantRecords int64 // on the retrain topic after the restart, all with the same id
	}{
		{"produce fails", true, false, 1},
		{"insert fails", false, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st := openStore(t)
			k, prod := kafka(t, ctx)
			ms := []schemas.MetricWindow{window(w, "income", true, 0.3), window(w.Add(5*time.Minute), "income", true, 0.3)}
			for i := range ms {
				r, err := stream.Record(topics.Metrics(), "m", &ms[i])
				if err != nil {
					t.Fatal(err)
				}
				if err := stream.ProduceSync(ctx, prod, r); err != nil {
					t.Fatal(err)
				}
			}
			fetches := consume(t, ctx, k, topics.Metrics(), len(ms))

			h := &Handler{Evaluator: policy.NewEvaluator(policy.Default()), Producer: prod, Store: st, Topics: topics}
			if tt.breakKafka {
				broken, err := kgo.NewClient(stream.Config{Brokers: k.Brokers()}.Options(nil)...)
				if err != nil {
					t.Fatal(err)
				}
				broken.Close()
				h.Producer = broken
			}
			if tt.breakStore {
				h.Store = failingStore{st}
			}
			if err := h.Handle(ctx, fetches); err != nil {
				t.Fatal(err)
			}
			if offs, err := h.Flush(ctx, time.Now()); err == nil {
				t.Fatalf("flush succeeded (offsets %v), want the injected failure", offs)
			}

			// Restart: seed from the table, replay the uncommitted metrics.
			recent, err := Recent(ctx, st, w)
			if err != nil {
				t.Fatal(err)
			}
			ev := policy.NewEvaluator(policy.Default())
			ev.Seed(recent)
			h = &Handler{Evaluator: ev, Producer: prod, Store: st, Topics: topics}
			if err := h.Handle(ctx, fetches); err != nil {
				t.Fatal(err)
			}
			if _, err := h.Flush(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}

			if got := endOffsets(t, ctx, prod, topics.Retrain())[topics.Retrain()]; got != tt.wantRecords {
				t.Fatalf("%d records on %s, want %d", got, topics.Retrain(), tt.wantRecords)
			}
			id := policy.TriggerID("default-drift", "m", "v1", w)
			for _, r := range consume(t, ctx, k, topics.Retrain(), int(tt.wantRecords)).Records() {
				var tr schemas.Trigger
				if err := schemas.Unmarshal(r.Value, &tr); err != nil {
					t.Fatal(err)
				}
				if tr.TriggerID != id {
					t.Errorf("trigger %s on the topic, want %s", tr.TriggerID, id)
				}
			}
			recent, err = Recent(ctx, st, w)
			if err != nil {
				t.Fatal(err)
			}
			if len(recent) != 1 || recent[0].TriggerID != id {
				t.Errorf("triggers table holds %v, want [%s]", ids(recent), id)
			}
		})
	}
}
