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
	if err := demo.Publish(ctx, cl, stream.NewTopics(*prefix), p); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	fmt.Fprintf(stdout, "published reference profile %s for %s %s: %d rows, %d features\n", p.ReferenceID, p.ModelID, p.ModelVersion, p.RowCount, len(p.Features))
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
