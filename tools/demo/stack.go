// Package demo runs Driftline embedded in one process — the in-process Kafka
// (or an external one), the embedded ClickHouse engine and all five services
// — and drives it with the synthetic producer for `make run` and the
// end-to-end tests.
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
	Kafka  *devkafka.Cluster // nil on external brokers
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
	cfg.Kafka.Brokers = k.Brokers()
	s, err := start(ctx, dir, cfg, deps)
	if err != nil {
		k.Close()
		return nil, err
	}
	s.Kafka = k
	return s, nil
}

// StartStackOn is StartStack on an external Kafka cluster reached through
// brokers: no in-process Kafka is started, and the topics are created on it
// when missing.
func StartStackOn(ctx context.Context, dir string, cfg pipeline.Config, deps pipeline.Deps, brokers []string) (*Stack, error) {
	if len(brokers) == 0 {
		return nil, errors.New("no Kafka brokers given")
	}
	cfg.Kafka.Brokers = brokers
	return start(ctx, dir, cfg, deps)
}

// start opens the store, migrates it, creates the topics on
// cfg.Kafka.Brokers (stream.EnsureTopics waits for their leaders) and
// runs the services.
func start(ctx context.Context, dir string, cfg pipeline.Config, deps pipeline.Deps) (*Stack, error) {
	st, err := store.Open(ctx, "chdb://"+filepath.Join(dir, "clickhouse"))
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx, st, ""); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	deps.Store = st
	if err := pipeline.Prepare(ctx, cfg, deps, "app", "labels"); err != nil {
		st.Close()
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	s := &Stack{Store: st, Config: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- pipeline.RunAll(rctx, cfg, deps) }()
	return s, nil
}

// Done reports the services' end: an error if one failed.
func (s *Stack) Done() <-chan error { return s.done }

// Close stops the services (they flush and commit), then the store and
// the in-process Kafka (an external one keeps running).
func (s *Stack) Close() error {
	s.cancel()
	err := <-s.done
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	s.done <- err // let a later Done reader see it too
	err = errors.Join(err, s.Store.Close())
	if s.Kafka != nil {
		s.Kafka.Close()
	}
	return err
}
