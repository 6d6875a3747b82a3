// Package demo runs Driftline embedded in one process — the in-process Kafka,
// the embedded ClickHouse engine and all five services — and drives it with
// the synthetic producer for `make run` and the end-to-end test.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/driftline/driftline/services/devkafka"
	"github.com/driftline/driftline/services/pipeline"
	"github.com/driftline/driftline/services/store"
)

// Stack is the embedded stack.
type Stack struct {
	Kafka  *devkafka.Cluster
	Store  store.Store
	Config pipeline.Config

	cancel context.CancelFunc
	done   chan error
}

// StartStack starts Kafka on 127.0.0.1:port (0: any free port) with its
// data under dir/kafka and the ClickHouse engine under dir/clickhouse,
// applies the migrations, creates the topics and runs the five services
// until Close.
func StartStack(ctx context.Context, dir string, cfg pipeline.Config, deps pipeline.Deps, port int) (*Stack, error) {
	k, err := devkafka.Start(devkafka.Options{DataDir: filepath.Join(dir, "kafka"), Partitions: int32(cfg.Partitions), Port: port})
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, "chdb://"+filepath.Join(dir, "clickhouse"))
	if err != nil {
		k.Close()
		return nil, err
	}
	if _, err := store.Migrate(ctx, st, ""); err != nil {
		st.Close()
		k.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	cfg.Kafka.Brokers = k.Brokers()
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	deps.Store = st
	if err := pipeline.Prepare(ctx, cfg, deps, "app", "labels"); err != nil {
		st.Close()
		k.Close()
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	s := &Stack{Kafka: k, Store: st, Config: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- pipeline.RunAll(rctx, cfg, deps) }()
	return s, nil
}

// Done reports the services' end: an error if one failed.
func (s *Stack) Done() <-chan error { return s.done }

// Close stops the services (they flush and commit), then the store and
// Kafka.
func (s *Stack) Close() error {
	s.cancel()
	err := <-s.done
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	s.done <- err // let a later Done reader see it too
	return errors.Join(err, s.Store.Close(), func() error { s.Kafka.Close(); return nil }())
}
