package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/driftline/driftline/tools/demo"
	"github.com/driftline/driftline/tools/synth"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	data := fs.String("data", defaultData, "data directory (its demo/ folder is replaced on each run)")
	timeout := fs.Duration("timeout", 4*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := filepath.Join(*data, "demo")
	if _, err := os.Stat(dir); err == nil {
		fmt.Fprintf(stdout, "removing the previous demo's data in %s\n", dir)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	// The services log warnings and errors only; progress is printed here.
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: demoLogLevel()})))
	s, err := demo.Run(ctx, demo.Options{Dir: dir, World: synth.Defaults(time.Now().Add(-10 * time.Minute)), Timeout: *timeout, Out: stdout})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	flag := ""
	if *data != defaultData {
		flag = " --data " + *data
	}
	s.Print(stdout, flag)
	return nil
}

// demoLogLevel keeps the demo's output to progress and warnings unless
// DRIFTLINE_LOG_LEVEL asks for more.
func demoLogLevel() slog.Level {
	var l slog.Level = slog.LevelWarn
	if v := os.Getenv("DRIFTLINE_LOG_LEVEL"); v != "" {
		_ = l.UnmarshalText([]byte(v))
	}
	return l
}
