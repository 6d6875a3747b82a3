package feedback

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kgo"
)

var topics = stream.NewTopics("")

func newEngine() *window.Level1[*Acc] {
	return window.NewLevel1(window.Config{ManualWatermark: true}, NewAcc)
}

// record is a consumed record of topic/partition/offset holding v, an
// encoded canonical event, or raw bytes.
func record(t *testing.T, topic string, partition int32, offset int64, v any) *kgo.Record {
	t.Helper()
	var b []byte
	switch v := v.(type) {
	case []byte:
		b = v
	default:
		var err error
		if b, err = schemas.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	return &kgo.Record{Topic: topic, Partition: partition, Offset: offset, Value: b}
}

func pred(t *testing.T, p int32, off int64, id string, at time.Time) *kgo.Record {
	return record(t, topics.Inferences(), p, off, inference(id, "req-"+id, "production", at, str("a"), nil))
}

func lab(t *testing.T, p int32, off int64, req string, at time.Time) *kgo.Record {
	return record(t, topics.Labels(), p, off, label(req, at, str("a"), nil))
}

// Flush writes what Route buffered and reports, per topic and partition,
// the offset after the last record handled, malformed records included.
func TestRouterFlushInsertsAndReportsOffsets(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	w := baseTime()
	r := &Router{Store: st, Topics: topics, OutOfOrderness: 30 * time.Second, Horizon: time.Hour}
	eng := newEngine()
	inf, lbl := topics.Inferences(), topics.Labels()

	steps := []struct {
		name        string
		records     []*kgo.Record
		predictions int64
		labels      int64
		offsets     stream.Offsets
	}{
		{"first batch", []*kgo.Record{
			pred(t, 0, 10, "e1", w.Add(time.Minute)),
			pred(t, 0, 11, "e2", w.Add(2*time.Minute)),
			pred(t, 1, 5, "e3", w.Add(time.Minute)),
			lab(t, 0, 3, "req-e1", w.Add(10*time.Minute)),
			record(t, lbl, 1, 7, []byte("not avro")),
			record(t, topics.Partials(), 0, 99, []byte("not ours")),
			// Commits stop at each partition's newest prediction and label
			// (e2 at 11, e3 at 5, req-e1 at 3); partition 1 has no label yet.
		}, 3, 1, stream.Offsets{inf: {0: 11, 1: 5}, lbl: {0: 3, 1: 8}}},
		// Only malformed records: nothing to insert, but they are handled
		// and must not be read again after a restart.
		{"malformed only", []*kgo.Record{
			record(t, lbl, 1, 8, []byte("still not avro")),
			record(t, inf, 2, 0, []byte{0xc3, 0x01, 0xff}),
		}, 3, 1, stream.Offsets{inf: {0: 11, 1: 5, 2: 1}, lbl: {0: 3, 1: 9}}},
		{"nothing new", nil, 3, 1, stream.Offsets{inf: {0: 11, 1: 5, 2: 1}, lbl: {0: 3, 1: 9}}},
		{"second batch", []*kgo.Record{
			pred(t, 0, 12, "e4", w.Add(3*time.Minute)),
			lab(t, 1, 9, "req-e3", w.Add(11*time.Minute)),
			lab(t, 1, 10, "req-e2", w.Add(12*time.Minute)),
		}, 4, 3, stream.Offsets{inf: {0: 12, 1: 5, 2: 1}, lbl: {0: 3, 1: 10}}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			for _, rec := range s.records {
				if err := r.Route(rec, eng, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			got, err := r.Flush(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, s.offsets) {
				t.Errorf("offsets %v, want %v", got, s.offsets)
			}
			if n := count(t, st, "SELECT count() FROM predictions"); n != s.predictions {
				t.Errorf("%d prediction rows, want %d", n, s.predictions)
			}
			if n := count(t, st, "SELECT count() FROM labels"); n != s.labels {
				t.Errorf("%d label rows, want %d", n, s.labels)
			}
		})
	}
}

// failingStore fails the first n inserts into one table, and records the
// insert tokens, around the real store.
type failingStore struct {
	store.Store
	table  string
	n      int
	tokens map[string][]string
}

func (f *failingStore) Insert(ctx context.Context, table, token string, rows []store.Row) error {
	if f.tokens == nil {
		f.tokens = map[string][]string{}
	}
	f.tokens[table] = append(f.tokens[table], token)
	if table == f.table && f.n > 0 {
		f.n--
		return errors.New("injected failure")
	}
	return f.Store.Insert(ctx, table, token, rows)
}

// A Flush that fails half-way is retried: the rows that did land are not
// sent again, and the failed insert is retried with the same token.
func TestRouterFlushRetryIsDeduplicated(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	w := baseTime()
	const failures = 8
	fs := &failingStore{Store: st, table: "labels", n: failures}
	r := &Router{Store: fs, Topics: topics, OutOfOrderness: 30 * time.Second, Horizon: time.Hour}
	eng := newEngine()
	// Several partitions of both topics, so that the token covers many
	// positions.
	for p := int32(0); p < 4; p++ {
		for i := int64(0); i < 3; i++ {
			id := fmt.Sprintf("e%d-%d", p, i)
			if err := r.Route(pred(t, p, 100+i, id, w.Add(time.Duration(i)*time.Minute)), eng, time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := r.Route(lab(t, p, 50+i, "req-"+id, w.Add(10*time.Minute)), eng, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 0; i < failures; i++ {
		offs, err := r.Flush(ctx)
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("flush %d: err = %v, want the injected failure", i, err)
		}
		if offs != nil {
			t.Errorf("flush %d failed but returned offsets %v", i, offs)
		}
	}
	offs, err := r.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Up to the newest prediction (the last) and label (the first of three
	// at the same time) of each partition.
	want := stream.Offsets{}
	for p := int32(0); p < 4; p++ {
		want.Set(topics.Inferences(), p, 102)
		want.Set(topics.Labels(), p, 50)
	}
	if !reflect.DeepEqual(offs, want) {
		t.Errorf("offsets %v, want %v", offs, want)
	}
	// The predictions landed at the first flush: the retries skip them.
	// The labels failed every time until the last, always with one token.
	wantInserts := map[string]int{"predictions": 1, "labels": failures + 1}
	for table, toks := range fs.tokens {
		if len(toks) != wantInserts[table] {
			t.Errorf("%d inserts into %s, want %d", len(toks), table, wantInserts[table])
		}
		for _, tok := range toks[1:] {
			if tok != toks[0] {
				t.Errorf("%s: a retried insert has token %q, the first had %q", table, tok, toks[0])
				break
			}
		}
	}
	if n := count(t, st, "SELECT count() FROM predictions"); n != 12 {
		t.Errorf("%d prediction rows after %d retries, want 12", n, failures)
	}
	if n := count(t, st, "SELECT count() FROM labels"); n != 12 {
		t.Errorf("%d label rows, want 12", n)
	}
}

// The watermark of a partition is min(newest prediction − out-of-orderness,
// newest label − out-of-orderness − horizon): a window closes only once its
// predictions are in and labels have been read up to its end plus the
// horizon. It never moves back, and partitions are independent.
func TestRouterWatermark(t *testing.T) {
	const ooo, horizon = 30 * time.Second, time.Hour
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	r := &Router{Topics: topics, OutOfOrderness: ooo, Horizon: horizon}
	eng := newEngine()
	steps := []struct {
		name string
		rec  *kgo.Record
		p    int32
		want time.Time // partition p's watermark after rec
	}{
		{"a prediction alone moves nothing", pred(t, 0, 0, "a", t0), 0, time.Time{}},
		{"a label: held back by the horizon", lab(t, 0, 0, "x", t0.Add(10*time.Minute)), 0, t0.Add(10*time.Minute - ooo - horizon)},
		{"labels past the horizon: held back by predictions", lab(t, 0, 1, "x", t0.Add(2*time.Hour)), 0, t0.Add(-ooo)},
		{"newer prediction: held back by labels", pred(t, 0, 1, "b", t0.Add(3*time.Hour)), 0, t0.Add(2*time.Hour - ooo - horizon)},
		{"older prediction: no change", pred(t, 0, 2, "c", t0.Add(time.Hour)), 0, t0.Add(2*time.Hour - ooo - horizon)},
		{"older label: no change", lab(t, 0, 2, "x", t0.Add(time.Minute)), 0, t0.Add(2*time.Hour - ooo - horizon)},
		{"newer label", lab(t, 0, 3, "x", t0.Add(5*time.Hour)), 0, t0.Add(3*time.Hour - ooo)},
		{"another partition is independent", lab(t, 1, 0, "x", t0.Add(9*time.Hour)), 1, time.Time{}},
		{"the first partition keeps its watermark", pred(t, 1, 0, "d", t0.Add(7*time.Hour)), 0, t0.Add(3*time.Hour - ooo)},
		{"the other partition moves by its own records", pred(t, 1, 1, "e", t0.Add(7*time.Hour+time.Second)), 1, t0.Add(7*time.Hour + time.Second - ooo)},
		{"a malformed label moves nothing", record(t, topics.Labels(), 0, 4, []byte("x")), 0, t0.Add(3*time.Hour - ooo)},
	}
	for _, s := range steps {
		if err := r.Route(s.rec, eng, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := eng.Watermark(s.p); !got.Equal(s.want) {
			t.Errorf("%s: partition %d watermark %s, want %s", s.name, s.p, got, s.want)
		}
	}
}

// Level 1 counts each window's predictions per variant, and hands a window
// over once labels have been read past its end plus the horizon.
func TestRouterCountsPredictionsPerWindow(t *testing.T) {
	const ooo, horizon = 30 * time.Second, time.Hour
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	r := &Router{Topics: topics, OutOfOrderness: ooo, Horizon: horizon}
	eng := newEngine()
	route := func(rec *kgo.Record) {
		t.Helper()
		if err := r.Route(rec, eng, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	inf := topics.Inferences()
	route(record(t, inf, 0, 0, inference("a", "r1", "production", t0.Add(time.Minute), str("a"), nil)))
	route(record(t, inf, 0, 1, inference("b", "r1", "shadow", t0.Add(time.Minute), str("a"), nil)))
	route(record(t, inf, 0, 2, inference("c", "r2", "production", t0.Add(4*time.Minute), str("a"), nil)))
	route(record(t, inf, 0, 3, inference("d", "r3", "production", t0.Add(6*time.Minute), str("a"), nil)))
	// Labels up to the first window's end + horizon are not enough...
	route(lab(t, 0, 0, "r1", t0.Add(5*time.Minute+horizon)))
	if parts, _ := eng.Flush(time.Now()); len(parts) != 0 {
		t.Fatalf("handed over %d windows before the horizon passed", len(parts))
	}
	if got := eng.Committable(0); got != 0 {
		t.Errorf("committable offset %d while the first window is open, want 0", got)
	}
	// ... labels past it (and predictions past the window) close it.
	route(lab(t, 0, 1, "r2", t0.Add(5*time.Minute+horizon+ooo+time.Millisecond)))
	parts, _ := eng.Flush(time.Now())
	got := map[string]int64{}
	for _, p := range parts {
		var wp schemas.WindowPartial
		p.Acc.Fill(&wp)
		got[fmt.Sprintf("%s %s", p.Key.Variant, p.Key.Start.Format("15:04"))] = wp.Count
		if wp.Counters["predictions"] != float64(wp.Count) {
			t.Errorf("%v: counter %v, count %d", p.Key, wp.Counters, wp.Count)
		}
	}
	want := map[string]int64{"production 10:00": 2, "shadow 10:00": 1}
	if !reflect.DeepEqual(got, want) {
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("handed over %v (%v), want %v", got, keys, want)
	}
	if got := eng.Committable(0); got != 3 {
		t.Errorf("committable offset %d, want 3 (the open second window's record)", got)
	}
}

// After a rebalance the router no longer reports offsets of a revoked
// partition: committing them would overwrite the new owner's progress.
func TestRouterRevokedForgetsPartition(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	w := baseTime()
	r := &Router{Store: st, Topics: topics, OutOfOrderness: 30 * time.Second, Horizon: time.Hour}
	eng := newEngine()
	for _, rec := range []*kgo.Record{pred(t, 0, 4, "a", w), pred(t, 1, 9, "b", w), lab(t, 0, 2, "req-a", w)} {
		if err := r.Route(rec, eng, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	offs, err := r.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if offs[topics.Inferences()][0] != 4 || offs[topics.Inferences()][1] != 9 || offs[topics.Labels()][0] != 2 {
		t.Fatalf("offsets %v", offs)
	}
	r.Revoked(topics.Inferences(), []int32{0})
	r.Revoked(topics.Labels(), []int32{0})
	if offs, err = r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	_, inf0 := offs[topics.Inferences()][0]
	_, lab0 := offs[topics.Labels()][0]
	if inf0 || lab0 || offs[topics.Inferences()][1] != 9 {
		t.Errorf("after revoking partition 0: %v, want only inferences[1] at 9", offs)
	}
}

// After a restart or a rebalance, the next owner reads a partition again
// from its committed offset, in other batches than before, so the insert
// tokens differ: the rows the tables already hold are skipped, the rest
// are inserted once.
func TestRouterReplayInOtherBatchesIsNotInsertedTwice(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	w := baseTime()
	route := func(r *Router, from, to int64) {
		t.Helper()
		eng := newEngine()
		for o := from; o < to; o++ {
			id := fmt.Sprintf("e%d", o)
			if err := r.Route(pred(t, 0, o, id, w), eng, time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := r.Route(lab(t, 1, o, "req-"+id, w.Add(time.Minute)), eng, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	first := &Router{Store: st, Topics: topics, OutOfOrderness: 30 * time.Second, Horizon: time.Hour}
	route(first, 100, 103)
	route(first, 103, 105)
	// The restarted instance read from offset 101 in one batch.
	again := &Router{Store: st, Topics: topics, OutOfOrderness: 30 * time.Second, Horizon: time.Hour}
	route(again, 101, 107)
	// A rebalance took partition 0 away and gave it back: asked again.
	again.Revoked(topics.Inferences(), []int32{0})
	route(again, 104, 108)
	for _, table := range []string{"predictions", "labels"} {
		q := fmt.Sprintf("SELECT count(), uniqExact(source_offset), min(source_offset), max(source_offset) FROM %s", table)
		res, err := st.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(res.Rows[0]...)
		want := fmt.Sprint(uint64(8), uint64(8), int64(100), int64(107))
		if got != want {
			t.Errorf("%s: count, distinct offsets, min, max = %s, want %s", table, got, want)
		}
	}
}

// A new owner of a partition (after a rebalance or a restart) reads it
// from the committed offsets and must arrive at the same watermark, or the
// windows waiting for the label horizon never close once the input ends:
// the commits stop at the newest prediction and the newest label, so it
// reads them again.
func TestRouterNewOwnerResumesWatermark(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	w := baseTime()
	var recs []*kgo.Record
	for i := int64(0); i < 5; i++ {
		id := fmt.Sprintf("e%d", i)
		recs = append(recs, pred(t, 0, i, id, w.Add(time.Duration(i)*time.Minute)),
			lab(t, 0, i, "req-"+id, w.Add(time.Hour+time.Duration(i)*time.Minute)))
	}
	first := &Router{Store: st, Topics: topics, OutOfOrderness: 30 * time.Second, Horizon: 10 * time.Minute}
	eng := newEngine()
	for _, rec := range recs {
		if err := first.Route(rec, eng, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	offs, err := first.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := eng.Watermark(0)
	if want.IsZero() {
		t.Fatal("the first owner has no watermark")
	}
	next := &Router{Store: st, Topics: topics, OutOfOrderness: 30 * time.Second, Horizon: 10 * time.Minute}
	nextEng := newEngine()
	for _, rec := range recs {
		if rec.Offset >= offs[rec.Topic][rec.Partition] {
			if err := next.Route(rec, nextEng, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := nextEng.Watermark(0); !got.Equal(want) {
		t.Errorf("the next owner, reading from %v, has watermark %s, want %s", offs, got, want)
	}
	if _, err := next.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, "SELECT count() FROM labels"); n != 5 {
		t.Errorf("%d label rows after the replay, want 5", n)
	}
}
