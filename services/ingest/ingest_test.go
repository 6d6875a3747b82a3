package ingest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/chdb"
	"github.com/driftline/driftline/services/normalize"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestMain(m *testing.M) {
	// The dead-letter table is the embedded ClickHouse engine's: without
	// libchdb.so these tests fail rather than skip and pass.
	if _, err := chdb.LibraryPath(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the ingest tests need the embedded ClickHouse engine:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

const partitions = 3

var topics = stream.NewTopics("")

// env is one test's Kafka (kfake) and ClickHouse (chDB on a temp dir).
type env struct {
	ctx     context.Context
	brokers []string
	client  *kgo.Client // producer with Driftline's options, and admin
	adm     *kadm.Client
	st      store.Store
}

func newEnv(t *testing.T, rawSources ...string) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e := &env{ctx: ctx, brokers: c.ListenAddrs()}
	e.client = e.newClient(t)
	e.adm = kadm.NewClient(e.client)
	if err := stream.EnsureTopics(ctx, e.client, topics, stream.Layout{Partitions: partitions}, rawSources...); err != nil {
		t.Fatal(err)
	}
	// One chDB directory per test, closed before the next test opens its own.
	st, err := store.Open(ctx, "chdb://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := store.Migrate(ctx, st, ""); err != nil {
		t.Fatal(err)
	}
	e.st = st
	return e
}

func (e *env) newClient(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(stream.Config{Brokers: e.brokers}.Options(nil), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// raw is one record put on a raw topic.
type raw struct {
	source    string
	partition int32
	value     string
	headers   map[string]string
	// class is the dead-letter error class expected, "" for a good record.
	class string
}

// produce writes rs to their raw topics and returns them as produced (with
// offsets), in order.
func (e *env) produce(t *testing.T, rs []raw) []*kgo.Record {
	t.Helper()
	var recs []*kgo.Record
	for _, r := range rs {
		rec := &kgo.Record{Topic: topics.Raw(r.source), Partition: r.partition, Value: []byte(r.value)}
		for k, v := range r.headers {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
		recs = append(recs, rec)
	}
	// One at a time, so the offsets follow the order given.
	for _, rec := range recs {
		if err := e.client.ProduceSync(e.ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	return recs
}

// poll reads n records from the raw topics with a real consumer and returns
// the polls' fetches.
func (e *env) poll(t *testing.T, n int, sources ...string) []kgo.Fetches {
	t.Helper()
	var ts []string
	for _, s := range sources {
		ts = append(ts, topics.Raw(s))
	}
	cl := e.newClient(t, kgo.ConsumeTopics(ts...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	var out []kgo.Fetches
	got := 0
	for got < n {
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		if err := fs.Err(); err != nil {
			t.Fatalf("poll after %d of %d records: %v", got, n, err)
		}
		got += fs.NumRecords()
		out = append(out, fs)
	}
	if got != n {
		t.Fatalf("polled %d records, want %d", got, n)
	}
	return out
}

// readAll returns every record of topic, checking against the end offsets
// that there are no more.
func (e *env) readAll(t *testing.T, topic string) []*kgo.Record {
	t.Helper()
	ends, err := e.adm.ListEndOffsets(e.ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	if n == 0 {
		return nil
	}
	cl := e.newClient(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	var out []*kgo.Record
	for int64(len(out)) < n {
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		if err := fs.Err(); err != nil {
			t.Fatalf("read %s after %d of %d records: %v", topic, len(out), n, err)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

type deadRow struct {
	topic     string
	partition int64
	offset    int64
	stage     string
	class     string
	message   string
	original  string
	headers   map[string]string
}

func (e *env) deadRows(t *testing.T, where string) []deadRow {
	t.Helper()
	q := "SELECT source_topic, source_partition, source_offset, stage, error_class, error_message, original, headers FROM deadletters"
	if where != "" {
		q += " WHERE " + where
	}
	res, err := e.st.Query(e.ctx, q+" ORDER BY source_topic, source_partition, source_offset")
	if err != nil {
		t.Fatal(err)
	}
	var out []deadRow
	for _, r := range res.Rows {
		d := deadRow{topic: r[0].(string), partition: r[1].(int64), offset: r[2].(int64), stage: r[3].(string),
			class: r[4].(string), message: r[5].(string), original: r[6].(string)}
		d.headers, _ = r[7].(map[string]string)
		out = append(out, d)
	}
	return out
}

func newHandler(e *env, reg prometheus.Registerer) *Handler {
	srcs, err := normalize.NewSources(normalize.FileConfig{}, normalize.SourcesOptions{LabelSources: []string{"labels"},
		Limits: normalize.Limits{MaxRecordBytes: 2048}})
	if err != nil {
		panic(err)
	}
	return &Handler{Topics: topics, Producer: e.client, Store: e.st, Sources: srcs, Metrics: NewMetrics(reg)}
}

func inference(req, variant string) string {
	return fmt.Sprintf(`{"request_id": %q, "model_id": "churn-model", "model_version": "v1", "variant": %q,
 "timestamp": "2026-11-23T10:00:00Z", "features": {"age": 42, "plan": "pro", "income": null},
 "prediction": {"class": "churn", "score": 0.83}, "latency_ms": 12.5, "segments": {"region": "eu"}}`, req, variant)
}

func TestHandler(t *testing.T) {
	e := newEnv(t, "app", "labels")
	big := `{"request_id": "r9", "model_id": "m", "pad": "` + strings.Repeat("x", 3000) + `"}`
	input := []raw{
		{"app", 0, inference("r1", "production"), nil, ""},
		{"app", 0, inference("r1", "shadow"), nil, ""},
		{"app", 1, `not json`, map[string]string{"content-type": "text/plain"}, normalize.ClassMalformed},
		{"app", 1, inference("r2", "production"), nil, ""},
		{"app", 2, `{"request_id": "r3", "timestamp": 1763892000, "features": {}}`, nil, normalize.ClassMissingField},
		{"app", 2, `{"request_id": "r4", "model_id": "m", "timestamp": 1763892000, "features": "oops"}`, nil, normalize.ClassWrongType},
		{"app", 0, big, map[string]string{"trace": "abc"}, normalize.ClassTooLarge},
		{"app", 2, inference("r5", "production"), nil, ""},
		{"labels", 0, `{"request_id": "r1", "label": "churn", "timestamp": 1763892000000}`, nil, ""},
		{"labels", 2, `{"request_id": "r2", "label": "stay", "timestamp": "2026-11-23T10:05:00Z"}`, nil, ""},
		{"labels", 1, `{"label": "churn", "timestamp": 1763892000000}`, nil, normalize.ClassMissingField},
		{"labels", 1, `[1, 2]`, nil, normalize.ClassMalformed},
	}
	recs := e.produce(t, input)
	polls := e.poll(t, len(input), "app", "labels")

	reg := prometheus.NewRegistry()
	h := newHandler(e, reg)
	for _, fs := range polls {
		if err := h.Handle(e.ctx, fs); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}
	offs, err := h.Flush(e.ctx, time.Now())
	if err != nil {
		t.Fatalf("Flush: %v", err)
	}

	// Offsets: one past the last record of every partition handled, nothing else.
	want := stream.Offsets{}
	for _, r := range recs {
		if r.Offset+1 > want[r.Topic][r.Partition] {
			want.Set(r.Topic, r.Partition, r.Offset+1)
		}
	}
	if fmt.Sprint(offs) != fmt.Sprint(want) {
		t.Errorf("Flush offsets = %v, want %v", offs, want)
	}
	if again, err := h.Flush(e.ctx, time.Now()); err != nil || len(again) != 0 {
		t.Errorf("a second Flush with nothing handled = %v, %v; want no offsets", again, err)
	}

	// Canonical events, keyed by request_id on the default partitioner's
	// partition, so a request's predictions and label share a partition.
	byKey := func(topic string) map[string][]*kgo.Record {
		m := map[string][]*kgo.Record{}
		for _, r := range e.readAll(t, topic) {
			m[string(r.Key)] = append(m[string(r.Key)], r)
		}
		return m
	}
	murmur := kgo.StickyKeyPartitioner(nil).ForTopic("")
	infs, labels := byKey(topics.Inferences()), byKey(topics.Labels())
	wantInf := map[string][]string{"r1": {"production", "shadow"}, "r2": {"production"}, "r5": {"production"}}
	if len(infs) != len(wantInf) {
		t.Errorf("inferences keyed %v, want keys of %v", slices.Collect(mapKeys(infs)), wantInf)
	}
	for req, variants := range wantInf {
		rs := infs[req]
		var got []string
		for _, r := range rs {
			var ev schemas.InferenceEvent
			if err := schemas.Unmarshal(r.Value, &ev); err != nil {
				t.Fatalf("inference %s: %v", req, err)
			}
			if ev.RequestID != req || ev.ModelID != "churn-model" || ev.Source != "app" || ev.LatencyMS != 12.5 ||
				ev.Prediction.Class == nil || *ev.Prediction.Class != "churn" || ev.Features["age"] == nil {
				t.Errorf("inference %s decoded as %+v", req, ev)
			}
			got = append(got, ev.Variant)
			if p := int32(murmur.Partition(&kgo.Record{Key: []byte(req)}, partitions)); r.Partition != p {
				t.Errorf("inference %s on partition %d, the key's partition is %d", req, r.Partition, p)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, variants) {
			t.Errorf("inferences of %s: variants %v, want %v", req, got, variants)
		}
	}
	wantLabel := map[string]string{"r1": "churn", "r2": "stay"}
	if len(labels) != len(wantLabel) {
		t.Errorf("labels keyed %v, want %v", slices.Collect(mapKeys(labels)), wantLabel)
	}
	for req, class := range wantLabel {
		if len(labels[req]) != 1 {
			t.Errorf("%d labels for %s, want 1", len(labels[req]), req)
			continue
		}
		r := labels[req][0]
		var l schemas.LabelEvent
		if err := schemas.Unmarshal(r.Value, &l); err != nil {
			t.Fatalf("label %s: %v", req, err)
		}
		if l.RequestID != req || l.Class == nil || *l.Class != class || l.Source != "labels" || l.LabelTime.IsZero() {
			t.Errorf("label %s decoded as %+v", req, l)
		}
		if len(infs[req]) > 0 && r.Partition != infs[req][0].Partition {
			t.Errorf("label %s on partition %d, its inferences on %d", req, r.Partition, infs[req][0].Partition)
		}
	}

	// Dead letters: on the topic and in the table, with the reason and the
	// original bytes and position.
	type pos struct {
		topic     string
		partition int32
		offset    int64
	}
	bad := map[pos]int{}
	for i, r := range recs {
		if input[i].class != "" {
			bad[pos{r.Topic, r.Partition, r.Offset}] = i
		}
	}
	dlRecs := e.readAll(t, topics.DeadLetter())
	if len(dlRecs) != len(bad) {
		t.Errorf("%d records on %s, want %d", len(dlRecs), topics.DeadLetter(), len(bad))
	}
	for _, r := range dlRecs {
		var dl schemas.DeadLetter
		if err := schemas.Unmarshal(r.Value, &dl); err != nil {
			t.Fatalf("dead letter: %v", err)
		}
		i, ok := bad[pos{dl.SourceTopic, dl.SourcePartition, dl.SourceOffset}]
		if !ok {
			t.Errorf("dead letter for %s[%d]@%d, which was not a bad record", dl.SourceTopic, dl.SourcePartition, dl.SourceOffset)
			continue
		}
		in := input[i]
		if dl.Stage != normalize.StageDecode || dl.ErrorClass != in.class || !strings.HasPrefix(dl.ErrorMessage, in.class+": ") ||
			string(dl.Original) != in.value || dl.ReceivedAt.IsZero() || string(r.Key) != dl.SourceTopic {
			t.Errorf("dead letter of record %d: stage %q class %q message %q key %q original %q, want stage decode, class %s, the original bytes",
				i, dl.Stage, dl.ErrorClass, dl.ErrorMessage, r.Key, trunc(dl.Original), in.class)
		}
		if len(in.headers) > 0 && fmt.Sprint(dl.Headers) != fmt.Sprint(in.headers) {
			t.Errorf("dead letter of record %d: headers %v, want %v", i, dl.Headers, in.headers)
		}
	}
	rows := e.deadRows(t, "")
	if len(rows) != len(bad) {
		t.Errorf("%d rows in deadletters, want %d", len(rows), len(bad))
	}
	for _, row := range rows {
		i, ok := bad[pos{row.topic, int32(row.partition), row.offset}]
		if !ok {
			t.Errorf("deadletters row for %s[%d]@%d, which was not a bad record", row.topic, row.partition, row.offset)
			continue
		}
		in := input[i]
		if row.stage != normalize.StageDecode || row.class != in.class || row.original != in.value || row.message == "" {
			t.Errorf("deadletters row of record %d: %+v, want class %s and the original bytes", i, row, in.class)
		}
		if len(in.headers) > 0 && fmt.Sprint(row.headers) != fmt.Sprint(in.headers) {
			t.Errorf("deadletters row of record %d: headers %v, want %v", i, row.headers, in.headers)
		}
	}

	// Counters by source and reason.
	for _, c := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"in app", h.Metrics.In.WithLabelValues("app"), 8},
		{"in labels", h.Metrics.In.WithLabelValues("labels"), 4},
		{"out inference", h.Metrics.Out.WithLabelValues(normalize.KindInference), 4},
		{"out label", h.Metrics.Out.WithLabelValues(normalize.KindLabel), 2},
		{"dead app malformed", h.Metrics.DeadLetter.WithLabelValues("app", normalize.ClassMalformed), 1},
		{"dead app missing_field", h.Metrics.DeadLetter.WithLabelValues("app", normalize.ClassMissingField), 1},
		{"dead app wrong_type", h.Metrics.DeadLetter.WithLabelValues("app", normalize.ClassWrongType), 1},
		{"dead app too_large", h.Metrics.DeadLetter.WithLabelValues("app", normalize.ClassTooLarge), 1},
		{"dead labels missing_field", h.Metrics.DeadLetter.WithLabelValues("labels", normalize.ClassMissingField), 1},
		{"dead labels malformed", h.Metrics.DeadLetter.WithLabelValues("labels", normalize.ClassMalformed), 1},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("counter %s = %v, want %v", c.name, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(h.Metrics.DeadLetter); n != 6 {
		t.Errorf("%d dead-letter series, want 6 (one per source and reason seen)", n)
	}
	// The counters are registered under their documented names.
	if n, err := testutil.GatherAndCount(reg, "driftline_adapter_records_in_total", "driftline_adapter_records_out_total", "driftline_deadletters_total"); err != nil || n != 2+2+6 {
		t.Errorf("registry holds %d series of the adapter's counters (%v), want 10", n, err)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func trunc(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// reversed returns the same records as fss, with the fetches, topics and
// partitions in the opposite order: what a replaying consumer may well get.
func reversed(fss []kgo.Fetches) kgo.Fetches {
	var out kgo.Fetches
	for _, fs := range fss {
		for _, f := range fs {
			var nf kgo.Fetch
			for _, ft := range f.Topics {
				nt := kgo.FetchTopic{Topic: ft.Topic, TopicID: ft.TopicID}
				nt.Partitions = slices.Clone(ft.Partitions)
				slices.Reverse(nt.Partitions)
				nf.Topics = append(nf.Topics, nt)
			}
			slices.Reverse(nf.Topics)
			out = append(out, nf)
		}
	}
	slices.Reverse(out)
	return out
}

// A retried Flush of the same dead letters (the same records handled again
// by a fresh Handler after a crash) adds no rows to the deadletters table:
// the insert token depends only on the records' topics, partitions and
// offsets. The first insert must also succeed however many dead letters a
// poll brings.
func TestDeadLetterRetryIsAbsorbed(t *testing.T) {
	sources := []string{"same", "reordered", "flood"}
	e := newEnv(t, sources...)
	for _, c := range []struct {
		source string
		bad    int // bad records, spread over the partitions
		good   int
		// replay turns the first run's polls into the retry's.
		replay func([]kgo.Fetches) []kgo.Fetches
	}{
		{"same", 7, 3, func(fss []kgo.Fetches) []kgo.Fetches { return fss }},
		{"reordered", 7, 3, func(fss []kgo.Fetches) []kgo.Fetches { return []kgo.Fetches{reversed(fss)} }},
		// About 12,000 dead letters in one batch: a token listing each
		// offset would pass ClickHouse's max_query_size (256 KiB).
		{"flood", 12000, 0, func(fss []kgo.Fetches) []kgo.Fetches { return fss }},
	} {
		t.Run(c.source, func(t *testing.T) {
			var input []raw
			for i := 0; i < c.bad; i++ {
				input = append(input, raw{c.source, int32(i % partitions), fmt.Sprintf("garbage %d", i), nil, normalize.ClassMalformed})
			}
			for i := 0; i < c.good; i++ {
				input = append(input, raw{c.source, int32(i % partitions), inference(fmt.Sprintf("%s-%d", c.source, i), "production"), nil, ""})
			}
			if len(input) > 100 {
				// Produce in bulk; offsets do not matter here.
				var rs []*kgo.Record
				for _, in := range input {
					rs = append(rs, &kgo.Record{Topic: topics.Raw(in.source), Partition: in.partition, Value: []byte(in.value)})
				}
				if err := e.client.ProduceSync(e.ctx, rs...).FirstErr(); err != nil {
					t.Fatal(err)
				}
			} else {
				e.produce(t, input)
			}
			polls := e.poll(t, len(input), c.source)
			where := fmt.Sprintf("source_topic = '%s'", topics.Raw(c.source))

			run := func(fss []kgo.Fetches) {
				t.Helper()
				h := newHandler(e, nil)
				for _, fs := range fss {
					if err := h.Handle(e.ctx, fs); err != nil {
						t.Fatalf("Handle: %v", err)
					}
				}
				if _, err := h.Flush(e.ctx, time.Now()); err != nil {
					t.Fatalf("Flush of %d dead letters: %v", c.bad, err)
				}
			}
			// The Loop hands a handler one poll at a time; a retry may get
			// the same records in other polls. Here each run gets them all
			// before its one Flush.
			run([]kgo.Fetches{concat(polls)})
			if n := len(e.deadRows(t, where)); n != c.bad {
				t.Fatalf("%d deadletters rows after the first flush, want %d", n, c.bad)
			}
			run([]kgo.Fetches{concat(c.replay(polls))})
			rows := e.deadRows(t, where)
			if len(rows) != c.bad {
				t.Fatalf("%d deadletters rows after the retried flush, want %d: the retry was not absorbed", len(rows), c.bad)
			}
			seen := map[[2]int64]bool{}
			for _, r := range rows {
				k := [2]int64{r.partition, r.offset}
				if seen[k] {
					t.Fatalf("row for partition %d offset %d twice", r.partition, r.offset)
				}
				seen[k] = true
			}
		})
	}
}

// A handler that flushed some dead letters and one that reads the same
// partitions again in other batches (an aborted transaction, a new owner
// after a crash or a rebalance): the table holds each dead letter once,
// though the second batch's insert token differs from the first's.
func TestDeadLetterReplayInOtherBatches(t *testing.T) {
	e := newEnv(t, "batches")
	var input []raw
	for i := 0; i < 12; i++ {
		input = append(input, raw{"batches", int32(i % partitions), fmt.Sprintf("garbage %d", i), nil, normalize.ClassMalformed})
	}
	e.produce(t, input)
	all := concat(e.poll(t, len(input), "batches"))
	// The first batch: the first two records of every partition.
	var first kgo.Fetches
	for _, f := range all {
		var nf kgo.Fetch
		for _, ft := range f.Topics {
			nt := kgo.FetchTopic{Topic: ft.Topic, TopicID: ft.TopicID}
			for _, fp := range ft.Partitions {
				fp.Records = fp.Records[:min(2, len(fp.Records))]
				nt.Partitions = append(nt.Partitions, fp)
			}
			nf.Topics = append(nf.Topics, nt)
		}
		first = append(first, nf)
	}
	flush := func(h *Handler, fs kgo.Fetches) {
		t.Helper()
		if err := h.Handle(e.ctx, fs); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Flush(e.ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	h := newHandler(e, nil)
	flush(h, first)
	where := fmt.Sprintf("source_topic = '%s'", topics.Raw("batches"))
	if n := len(e.deadRows(t, where)); n != 2*partitions {
		t.Fatalf("%d rows after the first batch, want %d", n, 2*partitions)
	}
	flush(newHandler(e, nil), all) // a new owner, from the start
	h.Revoked(topics.Raw("batches"), []int32{0, 1, 2})
	flush(h, all) // the first, after the partitions came back
	rows := e.deadRows(t, where)
	if len(rows) != len(input) {
		t.Fatalf("%d rows after reading everything again twice, want %d", len(rows), len(input))
	}
	seen := map[[2]int64]bool{}
	for _, r := range rows {
		k := [2]int64{r.partition, r.offset}
		if seen[k] {
			t.Fatalf("row for partition %d offset %d twice", r.partition, r.offset)
		}
		seen[k] = true
	}
}

func concat(fss []kgo.Fetches) kgo.Fetches {
	var out kgo.Fetches
	for _, fs := range fss {
		out = append(out, fs...)
	}
	return out
}
