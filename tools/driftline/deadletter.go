package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReplayHeader marks a record re-sent by `driftline deadletter replay`,
// with the position the dead letter came from.
const ReplayHeader = "driftline-replay-of"

func cmdDeadLetter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "replay" {
		fmt.Fprintln(stderr, "usage: driftline deadletter replay [flags]  (driftline deadletter replay -h lists them)")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return flag.ErrHelp
		}
		return errors.New("deadletter: the only subcommand is replay")
	}
	return cmdReplay(ctx, args[1:], stdout, stderr)
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// replayFilter chooses dead letters from the deadletters table.
type replayFilter struct {
	prefix       string
	sources      []string
	classes      []string
	since, until time.Time
	ids          []deadLetterID
	limit        int
}

type deadLetterID struct {
	topic     string
	partition int32
	offset    int64
}

func parseID(s string) (deadLetterID, error) {
	i := strings.LastIndexByte(s, '/')
	j := -1
	if i > 0 {
		j = strings.LastIndexByte(s[:i], '/')
	}
	if j <= 0 {
		return deadLetterID{}, fmt.Errorf("--id %q: want TOPIC/PARTITION/OFFSET", s)
	}
	p, err1 := strconv.ParseInt(s[j+1:i], 10, 32)
	o, err2 := strconv.ParseInt(s[i+1:], 10, 64)
	if err1 != nil || err2 != nil || p < 0 || o < 0 {
		return deadLetterID{}, fmt.Errorf("--id %q: want TOPIC/PARTITION/OFFSET with numbers", s)
	}
	return deadLetterID{s[:j], int32(p), o}, nil
}

func parseTime(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return time.Now().Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: want an RFC 3339 time, a date, or a duration ago such as 2h", flagName, s)
}

// query is the SELECT of the chosen dead letters: one row per original
// record position (a record dead-lettered twice, e.g. replayed and failed
// again at its new position, is a new position), oldest first.
func (f replayFilter) query() string {
	var where []string
	if len(f.sources) > 0 {
		var ts []string
		for _, s := range f.sources {
			ts = append(ts, store.Quote(f.prefix+"raw."+s))
		}
		where = append(where, "source_topic IN ("+strings.Join(ts, ", ")+")")
	}
	if len(f.classes) > 0 {
		var cs []string
		for _, c := range f.classes {
			cs = append(cs, store.Quote(c))
		}
		where = append(where, "error_class IN ("+strings.Join(cs, ", ")+")")
	}
	if !f.since.IsZero() {
		where = append(where, fmt.Sprintf("received_at >= fromUnixTimestamp64Milli(%d, 'UTC')", f.since.UnixMilli()))
	}
	if !f.until.IsZero() {
		where = append(where, fmt.Sprintf("received_at < fromUnixTimestamp64Milli(%d, 'UTC')", f.until.UnixMilli()))
	}
	if len(f.ids) > 0 {
		var ids []string
		for _, id := range f.ids {
			ids = append(ids, fmt.Sprintf("(source_topic = %s AND source_partition = %d AND source_offset = %d)", store.Quote(id.topic), id.partition, id.offset))
		}
		where = append(where, "("+strings.Join(ids, " OR ")+")")
	}
	// Only raw topics: dead letters of other stages have nothing to replay to.
	where = append(where, "startsWith(source_topic, "+store.Quote(f.prefix+"raw.")+")")
	q := "SELECT source_topic, source_partition, source_offset, error_class, base64Encode(original), headers, " +
		"toUnixTimestamp64Milli(received_at) FROM deadletters WHERE " + strings.Join(where, " AND ") +
		" ORDER BY received_at, source_topic, source_partition, source_offset LIMIT 1 BY source_topic, source_partition, source_offset"
	if f.limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.limit)
	}
	return q
}

type deadLetterRow struct {
	id       deadLetterID
	class    string
	original []byte
	headers  map[string]string
	received time.Time
}

func selectDeadLetters(ctx context.Context, st store.Store, f replayFilter) ([]deadLetterRow, error) {
	res, err := st.Query(ctx, f.query())
	if err != nil {
		return nil, err
	}
	out := make([]deadLetterRow, 0, len(res.Rows))
	for _, r := range res.Rows {
		p, err1 := store.Int(r[1])
		o, err2 := store.Int(r[2])
		ms, err3 := store.Int(r[6])
		b64, _ := r[4].(string)
		orig, err4 := base64.StdEncoding.DecodeString(b64)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("deadletters row: %w", err)
		}
		row := deadLetterRow{id: deadLetterID{fmt.Sprint(r[0]), int32(p), o}, class: fmt.Sprint(r[3]), original: orig,
			received: time.UnixMilli(ms).UTC()}
		row.headers, _ = r[5].(map[string]string)
		out = append(out, row)
	}
	return out, nil
}

func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("deadletter replay", stderr)
	dsn := fs.String("store", "", "ClickHouse DSN (clickhouse://... or chdb:///path); default the embedded store under --data")
	data := fs.String("data", defaultData, "data directory of the embedded store")
	brokers := fs.String("brokers", "", "Kafka brokers, comma-separated (not needed with --dry-run)")
	prefix := fs.String("prefix", stream.DefaultPrefix, "topic prefix")
	var sources, classes, ids multi
	fs.Var(&sources, "source", "only dead letters of this source (repeatable)")
	fs.Var(&classes, "class", "only dead letters of this error class, e.g. missing_field (repeatable)")
	fs.Var(&ids, "id", "only the dead letter of this original record, TOPIC/PARTITION/OFFSET (repeatable)")
	since := fs.String("since", "", "only dead letters received at or after this time (RFC 3339, a date, or a duration ago such as 2h)")
	until := fs.String("until", "", "only dead letters received before this time")
	limit := fs.Int("limit", 0, "replay at most this many (0: all chosen)")
	dryRun := fs.Bool("dry-run", false, "list what would be re-sent, send nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("deadletter replay: unexpected argument %q", fs.Arg(0))
	}
	f := replayFilter{prefix: *prefix, sources: sources, classes: classes, limit: *limit}
	var err error
	if f.since, err = parseTime("since", *since); err != nil {
		return fmt.Errorf("deadletter replay: %w", err)
	}
	if f.until, err = parseTime("until", *until); err != nil {
		return fmt.Errorf("deadletter replay: %w", err)
	}
	for _, s := range ids {
		id, err := parseID(s)
		if err != nil {
			return fmt.Errorf("deadletter replay: %w", err)
		}
		f.ids = append(f.ids, id)
	}
	if !*dryRun && *brokers == "" {
		return errors.New("deadletter replay: --brokers is required (or --dry-run)")
	}
	st, err := store.Open(ctx, storeDSN(*data, *dsn))
	if err != nil {
		return err
	}
	rows, err := selectDeadLetters(ctx, st, f)
	st.Close()
	if err != nil {
		return fmt.Errorf("deadletter replay: %w", err)
	}
	verb := "replaying"
	if *dryRun {
		verb = "would replay"
	}
	for _, r := range rows {
		fmt.Fprintf(stdout, "%s %s/%d/%d  %s  %d bytes  received %s\n", verb, r.id.topic, r.id.partition, r.id.offset, r.class,
			len(r.original), r.received.Format(time.RFC3339))
	}
	if *dryRun {
		fmt.Fprintf(stdout, "%d dead letters chosen; nothing sent (--dry-run)\n", len(rows))
		return nil
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "no dead letters chosen; nothing sent")
		return nil
	}
	cl, err := kgo.NewClient(stream.Config{Brokers: strings.Split(*brokers, ",")}.Options(nil)...)
	if err != nil {
		return fmt.Errorf("deadletter replay: %w", err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, 0, len(rows))
	for _, r := range rows {
		rec := &kgo.Record{Topic: r.id.topic, Value: r.original}
		for k, v := range r.headers {
			if k != ReplayHeader {
				rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
			}
		}
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: ReplayHeader,
			Value: fmt.Appendf(nil, "%s/%d/%d", r.id.topic, r.id.partition, r.id.offset)})
		recs = append(recs, rec)
	}
	if err := stream.ProduceSync(ctx, cl, recs...); err != nil {
		return fmt.Errorf("deadletter replay: %w", err)
	}
	fmt.Fprintf(stdout, "%d dead letters re-sent to their raw topics\n", len(rows))
	return nil
}
