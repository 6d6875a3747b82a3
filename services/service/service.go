// Package service is what every Driftline service binary does before and
// after its own work: read the configuration, set up logging and telemetry,
// open the store, run under a context cancelled by SIGINT/SIGTERM, and exit
// with a status that says how it ended.
package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/driftline/driftline/services/config"
	"github.com/driftline/driftline/services/pipeline"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/telemetry"
)

// Config is a service binary's configuration.
type Config struct {
	pipeline.Config `yaml:",inline"`
	// Store is the ClickHouse DSN: clickhouse://... or chdb:///path.
	Store string `yaml:"store" secret:"true"`
	// Migrate applies the ClickHouse migrations at start-up.
	Migrate bool `yaml:"migrate"`
	Log     struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`
	// Listen serves /metrics, /healthz and /readyz; "" disables.
	Listen string `yaml:"listen"`
}

// Main runs one service and returns the process exit status.
func Main(name string, run func(context.Context, pipeline.Config, pipeline.Deps) error) int {
	cfg := Config{Config: pipeline.Defaults(), Store: "chdb://.driftline/dev/clickhouse", Listen: ":9464"}
	cfg.Log.Level, cfg.Log.Format = "info", "json"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	if err := config.Load(&cfg, fs, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	if fs.NArg() > 0 {
		// Go's flag parsing stops at the first argument that is not a flag:
		// "-migrate true" leaves "true" and every flag after it unread.
		fmt.Fprintf(os.Stderr, "%s: unexpected argument %q: the services take flags only (a bool flag is -name or -name=false)\n", name, fs.Arg(0))
		return 2
	}
	logger, err := telemetry.NewLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	logger = logger.With("service", name)
	if len(cfg.Kafka.Brokers) == 0 {
		logger.Error("no Kafka brokers configured: set kafka.brokers (DRIFTLINE_KAFKA_BROKERS), or run everything embedded with `driftline dev`")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reg := telemetry.NewRegistry()
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		logger.Error("open store", "err", err)
		return 1
	}
	defer st.Close()
	if cfg.Migrate {
		if _, err := store.Migrate(ctx, st, ""); err != nil {
			logger.Error("migrate", "err", err)
			return 1
		}
	}
	deps := pipeline.Deps{Store: store.Instrument(st, reg), Logger: logger, Registry: reg}
	go func() {
		if err := telemetry.Serve(ctx, cfg.Listen, reg, func() error { return nil }); err != nil {
			logger.Error("telemetry server", "err", err)
		}
	}()
	logger.Info("starting", "config", config.Redacted(&cfg))
	if err := run(ctx, cfg.Config, deps); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("stopped", "err", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}
