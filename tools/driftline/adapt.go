package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/driftline/driftline/services/normalize"
	"github.com/driftline/driftline/services/normalize/formats"
)

// stdin is adapt's input when no --input is given; tests replace it.
var stdin io.Reader = os.Stdin

func cmdAdapt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("adapt", stderr)
	config := fs.String("config", "", "mapping `file` (the adapter's mappings key); without one the source reads canonical JSON")
	source := fs.String("source", "", "source name: the <source> of driftline.raw.<source>, as named in the mapping file")
	format := fs.String("format", "", "read this format instead of the source's: json, jsonl, csv, xml, avro or protobuf")
	framing := fs.String("framing", normalize.FramingAuto,
		"how the input splits into records: auto (by format), lines, values (JSON values), elements (top-level XML elements), length (4-byte big-endian length prefix) or whole")
	input := fs.String("input", "-", "input file; - reads stdin")
	label := fs.Bool("label", false, "without a mapping file entry, read the source as labels")
	maxInput := fs.Int64("max-input", 1<<30, "bytes the values and elements framings may hold in memory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("adapt: unexpected argument %q", fs.Arg(0))
	}
	if *source == "" {
		return errors.New("adapt: --source is required")
	}
	opts := normalize.SourcesOptions{}
	if *label {
		opts.LabelSources = []string{*source}
	}
	srcs, err := formats.LoadFile(*config, opts)
	if err != nil {
		return fmt.Errorf("adapt: %w", err)
	}
	if *config != "" && !contains(srcs.Names(), *source) {
		return fmt.Errorf("adapt: source %q is not in %s (it has %s)", *source, *config, strings.Join(srcs.Names(), ", "))
	}
	var in io.Reader = stdin
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			return fmt.Errorf("adapt: %w", err)
		}
		defer f.Close()
		in = f
	}
	in = ctxReader{ctx, in}
	c, err := srcs.Lookup(*source).Adapt(in, stdout, stderr, normalize.StreamOptions{Format: *format, Framing: *framing, MaxInput: *maxInput})
	if err != nil {
		return fmt.Errorf("adapt: after %d records: %w", c.Records, err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ctxReader stops reading once ctx ends (Ctrl-C on a pipe).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
