// Command loadbench measures the adapter and the drift-aggregator on a real
// Apache Kafka broker: it starts a broker (infra/scripts/kafka.sh) and the
// two service binaries as separate processes, each with its own embedded
// ClickHouse store, drives them with the load generator at a target rate,
// and reports throughput, consumer lag, the delay from a window's close to
// its metrics, and CPU and peak memory per process, for one or more
// models × features configurations. `make bench-load` runs it; docs/load.md
// explains the numbers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type benchConfig struct {
	models, features int
}

func parseConfigs(s string) ([]benchConfig, error) {
	var out []benchConfig
	for _, item := range strings.Split(s, ",") {
		m, f, ok := strings.Cut(strings.TrimSpace(item), "x")
		mi, err1 := strconv.Atoi(m)
		fi, err2 := strconv.Atoi(f)
		if !ok || err1 != nil || err2 != nil || mi < 1 || fi < 1 {
			return nil, fmt.Errorf("configuration %q: want MODELSxFEATURES, e.g. 10x20", item)
		}
		out = append(out, benchConfig{mi, fi})
	}
	return out, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.bin, "bin", "bin", "directory with the adapter and drift-aggregator binaries (make build)")
	fs.StringVar(&o.kafkaScript, "kafka-script", "infra/scripts/kafka.sh", "the broker's start/stop script")
	configs := fs.String("configs", "1x20,10x20,10x100", "models×features configurations, comma-separated")
	fs.Float64Var(&o.rate, "rate", 50000, "target inference records per second (0: as fast as possible)")
	fs.DurationVar(&o.duration, "duration", time.Minute, "how long to produce per configuration")
	fs.DurationVar(&o.warmup, "warmup", 10*time.Second, "windows closing this early are left out of the delay statistics")
	fs.DurationVar(&o.window, "window", 5*time.Minute, "window size (event time); level 1 keeps handed-over windows for an hour of event time")
	fs.IntVar(&o.windowEvents, "window-events", 100000, "inference records per window: the wall time per window is this over the rate")
	fs.DurationVar(&o.outOfOrder, "out-of-orderness", 5*time.Second, "allowed out-of-orderness (event time)")
	fs.DurationVar(&o.lateness, "lateness", 0, "allowed lateness (event time)")
	fs.IntVar(&o.partitions, "partitions", 3, "partitions of the raw and canonical topics")
	fs.IntVar(&o.segments, "segments", 3, "segments")
	fs.Float64Var(&o.shadowShare, "shadow-share", 0.1, "share of requests with a shadow prediction")
	fs.StringVar(&o.perfDir, "perf", "", "record each service with perf into this directory during the run (perf report --no-children)")
	fs.StringVar(&o.dir, "dir", "", "working directory (default: a new temporary one, removed afterwards)")
	fs.BoolVar(&o.transactions, "transactions", true, "the adapter's exactly-once transactions (its production default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfgs, err := parseConfigs(*configs)
	if err != nil {
		return err
	}
	if o.duration <= o.warmup {
		return errors.New("--duration must exceed --warmup")
	}
	for _, b := range []string{"adapter", "drift-aggregator"} {
		if _, err := os.Stat(filepath.Join(o.bin, b)); err != nil {
			return fmt.Errorf("%w (run make build)", err)
		}
	}
	if o.dir == "" {
		if o.dir, err = os.MkdirTemp("", "driftline-loadbench-"); err != nil {
			return err
		}
		defer os.RemoveAll(o.dir)
	}
	if o.perfDir != "" {
		if err := os.MkdirAll(o.perfDir, 0o755); err != nil {
			return err
		}
	}
	o.log = stderr

	kdir := filepath.Join(o.dir, "kafka")
	brokers, err := startKafka(ctx, o.kafkaScript, kdir)
	if err != nil {
		return err
	}
	defer stopKafka(o.kafkaScript, kdir)
	o.brokers = brokers
	o.brokerPID = readPID(filepath.Join(kdir, "pid"))
	fmt.Fprintf(stderr, "loadbench: Apache Kafka at %s (pid %d), work in %s\n", brokers, o.brokerPID, o.dir)

	var results []*result
	for i, c := range cfgs {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(stderr, "loadbench: run %d of %d: %d models × %d features at %.0f records/s for %s\n",
			i+1, len(cfgs), c.models, c.features, o.rate, o.duration)
		r, err := runOne(ctx, o, i, c)
		if err != nil {
			return fmt.Errorf("%dx%d: %w", c.models, c.features, err)
		}
		results = append(results, r)
		printResults(stdout, o, results[len(results)-1:])
	}
	fmt.Fprintln(stdout)
	printResults(stdout, o, results)
	return nil
}
