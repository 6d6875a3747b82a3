package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/driftline/driftline/services/normalize"
	"github.com/driftline/driftline/services/normalize/formats"
	"github.com/driftline/driftline/services/pipeline"
	"github.com/driftline/driftline/tools/demo"
)

func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev", stderr)
	data := fs.String("data", defaultData, "data directory; topics, offsets and tables survive a restart")
	partitions := fs.Int("partitions", 3, "partitions of new topics")
	port := fs.Int("port", 9092, "Kafka port on 127.0.0.1 (0 picks a free one)")
	mappings := fs.String("mappings", "", "the adapter's per-source mapping file (see docs/adapter.md); none reads canonical JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := pipeline.Defaults()
	cfg.Partitions = *partitions
	cfg.Mappings = *mappings
	if *mappings != "" {
		// Checked before anything starts, as the adapter checks it.
		if _, err := formats.LoadFile(*mappings, normalize.SourcesOptions{LabelSources: cfg.LabelSources}); err != nil {
			return err
		}
	}
	dir := filepath.Join(*data, "dev")
	st, err := demo.StartStack(ctx, dir, cfg, pipeline.Deps{Logger: slog.New(slog.NewTextHandler(stderr, nil))}, *port)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Driftline is running: Kafka at %s, ClickHouse data in %s\n", strings.Join(st.Kafka.Brokers(), ","), filepath.Join(dir, "clickhouse"))
	fmt.Fprintf(stdout, "Produce JSON inferences to driftline.raw.<source> and labels to driftline.raw.labels; Ctrl-C stops.\n")
	select {
	case <-ctx.Done():
	case err := <-st.Done():
		st.Close()
		return fmt.Errorf("services stopped: %w", err)
	}
	return st.Close()
}
