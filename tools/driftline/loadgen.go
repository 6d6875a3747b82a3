package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/tools/demo"
	"github.com/driftline/driftline/tools/loadgen"
	"github.com/twmb/franz-go/pkg/kgo"
)

func cmdLoadgen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("loadgen", stderr)
	options := loadgen.Flags(fs)
	brokers := fs.String("brokers", "", "Kafka brokers (comma-separated)")
	prefix := fs.String("prefix", stream.DefaultPrefix, "topic prefix")
	source := fs.String("source", "load", "raw source: records go to <prefix>raw.<source>, labels to <prefix>raw.labels")
	rate := fs.Float64("rate", 0, "records per second (0: as fast as possible)")
	duration := fs.Duration("duration", 0, "stop after this long (0: no limit)")
	events := fs.Int64("events", 0, "stop after this many records (0: no limit)")
	partitions := fs.Int("partitions", 3, "partitions of the topics created when missing")
	refRows := fs.Int("reference-rows", 5000, "rows behind each published reference profile (0: publish none)")
	closeAfter := fs.Duration("close-after", 30*time.Second, "out-of-orderness + lateness of the pipeline, for the closable-window count")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *brokers == "" {
		return errors.New("loadgen: --brokers is required")
	}
	if *duration == 0 && *events == 0 {
		return errors.New("loadgen: set --duration or --events")
	}
	o, err := options()
	if err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	g, err := loadgen.New(o)
	if err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	topics := stream.NewTopics(*prefix)
	cl, err := kgo.NewClient(append(stream.Config{Brokers: split(*brokers)}.Options(nil),
		kgo.DefaultProduceTopic(topics.Raw(*source)), kgo.MaxBufferedRecords(100000))...)
	if err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	defer cl.Close()
	if err := stream.EnsureTopics(ctx, cl, topics, stream.Layout{Partitions: int32(*partitions)}, *source, "labels"); err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	if *refRows > 0 {
		if err := publishProfiles(ctx, cl, topics, o, *refRows); err != nil {
			return fmt.Errorf("loadgen: %w", err)
		}
		fmt.Fprintf(stderr, "loadgen: published %d reference profiles (%d rows, %d features each)\n", o.Models, *refRows, o.Features)
	}
	windows := 0
	s, err := loadgen.Produce(ctx, cl, g, loadgen.RunOptions{
		InferenceTopic: topics.Raw(*source), LabelTopic: topics.Raw("labels"),
		Rate: *rate, Duration: *duration, Records: *events, Progress: stderr, CloseAfter: *closeAfter,
		OnClosable: func(time.Time, time.Time) { windows++ },
	})
	fmt.Fprintf(stdout, "loadgen: %s; %d windows closable\n", s, windows)
	return err
}

// publishProfiles publishes the generated models' reference profiles.
func publishProfiles(ctx context.Context, cl *kgo.Client, topics stream.Topics, o loadgen.Options, rows int) error {
	ps, err := loadgen.Profiles(o, rows)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := demo.Publish(ctx, cl, topics, p); err != nil {
			return fmt.Errorf("publish reference of %s: %w", p.ModelID, err)
		}
	}
	return nil
}
