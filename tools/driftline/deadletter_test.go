package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/services/ingest"
	"github.com/driftline/driftline/services/normalize"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Replay chooses dead letters from the table by source, class, time and
// id, re-sends their original bytes and headers to their raw topic (marked
// with where they came from), and with --dry-run only lists them.
func TestDeadLetterReplay(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	type dl struct {
		topic  string
		offset int64
		class  string
		value  string
		at     time.Time
	}
	dls := []dl{
		{"driftline.raw.crm", 3, normalize.ClassMissingField, `{"req":{"id":"r1"}}`, at},
		{"driftline.raw.crm", 4, normalize.ClassWrongType, `{"req":{"id":"r2"}}`, at.Add(time.Minute)},
		{"driftline.raw.crm", 5, normalize.ClassMissingField, "\x00\xffbinary", at.Add(2 * time.Hour)},
		{"driftline.raw.other", 1, normalize.ClassMissingField, `{"x":1}`, at},
		{"driftline.inferences", 9, "encode", `internal`, at},
	}
	dir := migratedStore(t, func(ctx context.Context, st store.Store) error {
		var rows []store.Row
		for _, d := range dls {
			r := &kgo.Record{Topic: d.topic, Partition: 1, Offset: d.offset, Value: []byte(d.value),
				Headers: []kgo.RecordHeader{{Key: "content-type", Value: []byte("application/json")}}}
			x := ingest.NewDeadLetter(r, normalize.StageDecode, d.class, d.class+": ...", d.at)
			rows = append(rows, ingest.DeadLetterRow(&x))
		}
		// The same dead letter twice (a retried insert under another
		// token): replayed once.
		x := ingest.NewDeadLetter(&kgo.Record{Topic: dls[0].topic, Partition: 1, Offset: dls[0].offset, Value: []byte(dls[0].value)},
			normalize.StageDecode, dls[0].class, "again", at)
		rows = append(rows, ingest.DeadLetterRow(&x))
		return st.Insert(ctx, "deadletters", "", rows)
	})
	dsn := "chdb://" + dir

	out, _, err := runCmd(t, "deadletter", "replay", "--store", dsn, "--source", "crm", "--class", "missing_field", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "would replay driftline.raw.crm/1/3") || !strings.Contains(out, "would replay driftline.raw.crm/1/5") ||
		strings.Contains(out, "/1/4") || !strings.Contains(out, "2 dead letters chosen; nothing sent") {
		t.Errorf("dry run printed:\n%s", out)
	}

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "driftline.raw.crm", "driftline.raw.other"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	for _, args := range [][]string{
		{"--source", "crm", "--class", "missing_field", "--until", "2026-11-23T11:00:00Z"}, // offset 3 only
		{"--id", "driftline.raw.crm/1/4", "--id", "driftline.raw.other/1/1"},
		{"--class", "encode"}, // not a raw topic: nothing
	} {
		if _, errOut, err := runCmd(t, append([]string{"deadletter", "replay", "--store", dsn, "--brokers", brokers}, args...)...); err != nil {
			t.Fatalf("replay %v: %v %s", args, err, errOut)
		}
	}
	cl, err := kgo.NewClient(stream.Config{Brokers: c.ListenAddrs()}.Options(nil)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cl.AddConsumeTopics("driftline.raw.crm", "driftline.raw.other")
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(got) < 3 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("after %d records: %v", len(got), err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			h := map[string]string{}
			for _, x := range r.Headers {
				h[x.Key] = string(x.Value)
			}
			got = append(got, fmt.Sprintf("%s %s ct=%s of=%s", r.Topic, r.Value, h["content-type"], h[ReplayHeader]))
		})
	}
	// Nothing more: the dead letter stored twice went out once.
	short, cancelShort := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShort()
	if n := cl.PollFetches(short).NumRecords(); n != 0 {
		t.Errorf("%d records more than the 3 chosen", n)
	}
	slices.Sort(got)
	want := []string{
		`driftline.raw.crm {"req":{"id":"r1"}} ct=application/json of=driftline.raw.crm/1/3`,
		`driftline.raw.crm {"req":{"id":"r2"}} ct=application/json of=driftline.raw.crm/1/4`,
		`driftline.raw.other {"x":1} ct=application/json of=driftline.raw.other/1/1`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("replayed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDeadLetterReplayArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deadletter"}, "only subcommand is replay"},
		{[]string{"deadletter", "replay", "--id", "nonsense"}, "TOPIC/PARTITION/OFFSET"},
		{[]string{"deadletter", "replay", "--since", "yesterday"}, "--since"},
		{[]string{"deadletter", "replay"}, "--brokers is required"},
	} {
		if _, _, err := runCmd(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want one mentioning %s", c.args, err, c.want)
		}
	}
}
