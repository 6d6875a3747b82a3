package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftline/driftline/services/store"
)

// TestFaultsRealKafka runs the pipeline on a real Apache Kafka broker once
// without faults and then once per fault, on the same input, and checks that
// every faulty run ends with exactly the fault-free run's metrics and with
// every prediction, label and dead letter stored once: a killed instance
// whose partitions move to a second one, a broker restart, ClickHouse
// inserts that fail, and a restart from the committed offsets.
func TestFaultsRealKafka(t *testing.T) {
	needRealKafka(t, "the fault suite on a real broker takes a few minutes")
	dir, brokers := startKafka(t)
	world := faultWorld(time.Now().Add(-time.Hour))

	var baseline []string
	if !t.Run("baseline", func(t *testing.T) {
		r := newFaultRun(t, "baseline", brokers, world)
		r.start(r.store)
		r.produce(1)
		baseline = r.settle(3*time.Minute, 3*time.Second)
		r.check(baseline, baseline)
		checkCoverage(t, baseline, int(world.Duration/world.Window))
	}) {
		t.Fatal("no fault-free run to compare with")
	}

	for _, sc := range []struct {
		name string
		run  func(t *testing.T, r *faultRun) []string
	}{
		{"rebalance", func(t *testing.T, r *faultRun) []string {
			// Two instances of every service in the same groups; one is
			// killed mid-stream, with windows open and their offsets not
			// committed, and the other takes its partitions over.
			a, b := r.start(r.store), r.start(r.store)
			r.produce(0.5)
			r.waitFor("finished window before the kill", 90*time.Second, r.someMetrics)
			a.halt(t, a.kill)
			r.produce(1)
			rows := r.settle(3*time.Minute, 3*time.Second, b)
			noFailures(t, b)
			return rows
		}},
		{"broker restart", func(t *testing.T, r *faultRun) []string {
			// The broker stops mid-stream and comes back on the same data
			// and port; the clients reconnect. The window levels ride the
			// outage out; the adapter's transaction cannot commit without
			// a broker, so it may stop and be restarted, like any service
			// that stops, from the committed offsets.
			s := r.start(r.store)
			r.produce(0.5)
			r.waitFor("finished window before the broker stops", 90*time.Second, r.someMetrics)
			down := time.Now()
			if out, err := kafkaCmd(90*time.Second, "stop", dir); err != nil {
				t.Fatalf("stopping the broker: %v\n%s", err, out)
			}
			time.Sleep(2 * time.Second) // the services run without a broker
			if again := kafkaStart(t, dir); !slices.Equal(again, brokers) {
				t.Fatalf("the broker came back at %v, not %v", again, brokers)
			}
			// A call that began during the outage, or while the broker was
			// still loading its transaction state, may fail up to its own
			// timeout after the broker is back (ending the adapter's
			// transaction waits up to 30 s): such a stop is the outage's.
			up := time.Now().Add(outageGrace)
			r.produce(1)
			rows := r.settle(3*time.Minute, 3*time.Second, s)
			for _, err := range s.failuresOutside(down, up) {
				t.Errorf("the services stopped before the broker stopped or %s after it was back: %v", outageGrace, err)
			}
			if n := len(s.failures()); n > 0 {
				t.Logf("the services stopped %d times around the outage (restarted from the committed offsets): %v", n, s.failures())
			}
			return rows
		}},
		{"insert fails twice", func(t *testing.T, r *faultRun) []string {
			// The first two inserts into the metrics table fail. Level 2
			// returns the error, so the services stop without committing
			// the window's partials and are restarted (by the supervisor
			// here, a container's restart policy in production) from the
			// committed offsets; the third insert goes through.
			fs := &failingStore{Store: r.store, table: "metrics", left: 2}
			s := r.start(fs)
			r.produce(1)
			rows := r.settle(3*time.Minute, 3*time.Second, s)
			if n := fs.failedCount(); n != 2 {
				t.Errorf("%d inserts failed, want 2", n)
			}
			// Two level 2s may fail at once and stop the services together.
			f := s.failures()
			if len(f) < 1 || len(f) > 2 {
				t.Errorf("the services stopped %d times, want once or twice (for two failed inserts): %v", len(f), f)
			}
			for _, err := range f {
				if !strings.Contains(err.Error(), errInjected) {
					t.Errorf("the services stopped for another reason than the failed insert: %v", err)
				}
			}
			return rows
		}},
		{"restart from committed offsets", func(t *testing.T, r *faultRun) []string {
			// A graceful stop mid-stream (final flush and commit), then new
			// clients in the same groups.
			s := r.start(r.store)
			r.produce(0.5)
			r.waitFor("finished window before the stop", 90*time.Second, r.someMetrics)
			s.halt(t, s.stop)
			noFailures(t, s)
			s2 := r.start(r.store)
			r.produce(1)
			rows := r.settle(3*time.Minute, 3*time.Second, s2)
			noFailures(t, s2)
			return rows
		}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			r := newFaultRun(t, strings.ReplaceAll(sc.name, " ", "-"), brokers, world)
			r.check(baseline, sc.run(t, r))
		})
	}
}

// outageGrace is how long after the broker is back a stop of the services
// is still put down to the outage: twice the longest client call's timeout
// (stream's 30 s for ending a transaction), as the broker is slow to serve
// transactions again on a loaded machine.
const outageGrace = 60 * time.Second

// checkCoverage checks that the baseline has the metrics the faults are
// compared on: drift, performance and shadow verdicts for every window.
func checkCoverage(t *testing.T, rows []string, windows int) {
	t.Helper()
	for _, m := range []struct{ family, metric string }{{"drift", "drift_score"}, {"performance", "accuracy"}, {"shadow", "agreement_rate"}} {
		seen := map[string]bool{}
		for _, r := range rows {
			// model version variant family metric feature segment window ...
			if f := strings.Split(r, "\t"); len(f) > 7 && f[3] == m.family && f[4] == m.metric {
				seen[f[7]] = true
			}
		}
		if len(seen) != windows {
			t.Errorf("baseline has %s %s in %d windows, want %d", m.family, m.metric, len(seen), windows)
		}
	}
}

// noFailures checks that an instance never stopped with an error.
func noFailures(t *testing.T, s *services) {
	t.Helper()
	if f := s.failures(); len(f) > 0 {
		t.Errorf("the services stopped %d times with an error (and were restarted): %v", len(f), f)
	}
}

const errInjected = "injected failure"

// failingStore is the real store whose first inserts into one table fail,
// as a ClickHouse server that refuses or times out an insert would; every
// other call, and the inserts after those, reach the engine.
type failingStore struct {
	store.Store
	table string

	mu     sync.Mutex
	left   int // inserts still to fail
	failed int
}

func (s *failingStore) Insert(ctx context.Context, table, token string, rows []store.Row) error {
	if table == s.table {
		s.mu.Lock()
		fail := s.left > 0
		if fail {
			s.left--
			s.failed++
		}
		n := s.failed
		s.mu.Unlock()
		if fail {
			return fmt.Errorf("%s of insert %d into %s (%d rows)", errInjected, n, table, len(rows))
		}
	}
	return s.Store.Insert(ctx, table, token, rows)
}

func (s *failingStore) failedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}
