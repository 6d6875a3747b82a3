package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/driftline/driftline/services/reference"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/tools/demo"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func cmdBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("baseline", stderr)
	csvPath := fs.String("csv", "", "training dataset (CSV with a header row)")
	model := fs.String("model", "", "model_id the profile is for")
	version := fs.String("version", "", "model_version (empty: every version without a profile of its own)")
	categorical := fs.String("categorical", "", "comma-separated columns to treat as categorical")
	exclude := fs.String("exclude", "", "comma-separated columns to leave out (ids, labels)")
	brokers := fs.String("brokers", "", "Kafka brokers to publish to (comma-separated); empty: only print the profile")
	prefix := fs.String("prefix", stream.DefaultPrefix, "topic prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *csvPath == "" || *model == "" {
		return errors.New("baseline: --csv and --model are required")
	}
	f, err := os.Open(*csvPath)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer f.Close()
	p, err := reference.FromCSV(f, reference.Options{Name: *csvPath, ModelID: *model, ModelVersion: *version,
		Categorical: split(*categorical), Exclude: split(*exclude)})
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if *brokers == "" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	cl, err := kgo.NewClient(stream.Config{Brokers: split(*brokers)}.Options(nil)...)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer cl.Close()
	topics := stream.NewTopics(*prefix)
	if err := ensureReferences(ctx, cl, topics.References()); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if err := demo.Publish(ctx, cl, topics, p); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	target := p.ModelID + " " + p.ModelVersion
	if p.ModelVersion == "" {
		target = p.ModelID + " (every version without a profile of its own)"
	}
	fmt.Fprintf(stdout, "published reference profile %s for %s: %d rows, %d features\n", p.ReferenceID, target, p.RowCount, len(p.Features))
	return nil
}

// ensureReferences creates the references topic, compacted and with one
// partition as the services create it, when it does not exist yet: a
// profile may well be published before the services first ran, and a
// broker's auto-creation would make it a topic that deletes the profile
// after the retention time.
func ensureReferences(ctx context.Context, cl *kgo.Client, topic string) error {
	adm := kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", topic, err)
	}
	if d, ok := td[topic]; ok && d.Err == nil {
		return nil
	} else if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("describe topic %s: %w", topic, d.Err)
	}
	compact := "compact"
	resp, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}

func split(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
