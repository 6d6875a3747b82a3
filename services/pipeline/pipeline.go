// Package pipeline wires Driftline's services to Kafka and ClickHouse: each
// Run function builds its clients and consume loops and runs them until the
// context ends. The per-service binaries call one each; the embedded run
// (`driftline dev`) calls them all in one process.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/normalize"
	"github.com/driftline/driftline/services/normalize/formats"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/window"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config is every service's configuration; each service reads its part.
type Config struct {
	Kafka stream.Config `yaml:"kafka"`
	// Partitions for the topics Driftline creates when they are missing.
	Partitions int `yaml:"partitions"`
	// GroupPrefix starts every consumer group name.
	GroupPrefix string `yaml:"group_prefix"`

	WindowSize     time.Duration `yaml:"window_size"`
	OutOfOrderness time.Duration `yaml:"out_of_orderness"`
	Lateness       time.Duration `yaml:"lateness"`
	IdleTimeout    time.Duration `yaml:"idle_timeout"`
	// Retain is how long a finished window is kept for late events to
	// revise it.
	Retain time.Duration `yaml:"retain"`
	// LabelHorizon is how long after a window the labeler waits for labels.
	LabelHorizon time.Duration `yaml:"label_horizon"`
	// ShadowHorizon is how long a prediction waits for its shadow pair.
	ShadowHorizon time.Duration `yaml:"shadow_horizon"`
	// Views are the longer views merged from finished windows, as
	// window.ParseViews reads them ("1h,24h,1h/5m"); "" takes
	// window.DefaultViews, "none" turns them off.
	Views string `yaml:"views"`

	// DriftTests overrides the default drift test of features: entries
	// TEST[:THRESHOLD] (every feature) or FEATURE=TEST[:THRESHOLD], comma
	// separated, as driftline drift --test takes them; "" keeps the
	// defaults (docs/drift.md).
	DriftTests string `yaml:"drift_tests"`
	// Policies is the retrain-trigger's policy file; "" uses the default.
	Policies string `yaml:"policies"`
	// LabelSources are the raw sources whose records are labels.
	LabelSources   []string `yaml:"label_sources"`
	MaxRecordBytes int      `yaml:"max_record_bytes"`
	// Mappings is the adapter's per-source mapping file (formats, field
	// paths, types, limits, duplicates; see docs/adapter.md); "" reads
	// every source as canonical JSON.
	Mappings string `yaml:"mappings"`
}

// Defaults returns the configuration used where a key is not set.
func Defaults() Config {
	return Config{
		Kafka:          stream.Config{Prefix: stream.DefaultPrefix, Transactions: true},
		Partitions:     3,
		GroupPrefix:    "driftline-",
		WindowSize:     window.DefaultSize,
		OutOfOrderness: window.DefaultOutOfOrderness,
		IdleTimeout:    window.DefaultIdleTimeout,
		Retain:         window.DefaultRetain,
		LabelHorizon:   time.Hour,
		ShadowHorizon:  time.Minute,
		LabelSources:   []string{"labels"},
		MaxRecordBytes: 1 << 20,
	}
}

// Deps are what the services share.
type Deps struct {
	Store    store.Store
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// OnMetrics and OnTrigger, if set, see every metric window and trigger
	// written, for progress output.
	OnMetrics func([]schemas.MetricWindow)
	OnTrigger func(schemas.Trigger)
}

func (c Config) topics() stream.Topics { return stream.NewTopics(c.Kafka.Prefix) }

func (c Config) window(manual bool) (window.Config, error) {
	size := c.WindowSize
	views := window.DefaultViews(size)
	if c.Views != "" {
		var err error
		if views, err = window.ParseViews(c.Views, size); err != nil {
			return window.Config{}, fmt.Errorf("views: %w", err)
		}
	}
	return window.Config{
		Size:            func(string) time.Duration { return size },
		OutOfOrderness:  c.OutOfOrderness,
		Lateness:        c.Lateness,
		IdleTimeout:     c.IdleTimeout,
		Retain:          c.Retain,
		ManualWatermark: manual,
		Views:           views,
	}, nil
}

// sources loads the adapter's mapping file, checked at start-up.
func (c Config) sources() (*normalize.Sources, error) {
	return formats.LoadFile(c.Mappings, normalize.SourcesOptions{LabelSources: c.LabelSources,
		Limits: normalize.Limits{MaxRecordBytes: c.MaxRecordBytes}})
}

// newClient builds a franz-go client with Driftline's options plus extra.
func (c Config) newClient(d Deps, name string, extra ...kgo.Opt) (*kgo.Client, error) {
	kc := c.Kafka
	if kc.ClientID == "" {
		kc.ClientID = "driftline-" + name
	}
	cl, err := kgo.NewClient(append(kc.Options(d.Logger), extra...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: kafka client: %w", name, err)
	}
	return cl, nil
}

// runLoop runs a consume loop for handler on a group client.
func (c Config) runLoop(ctx context.Context, d Deps, name, group string, h stream.Handler, topics []string, extra ...kgo.Opt) error {
	loop := &stream.Loop{Handler: h, Logger: d.Logger.With("loop", name), Metrics: stream.NewLoopMetrics(d.Registry, c.GroupPrefix+group)}
	opts := append(loop.GroupOptions(c.GroupPrefix+group, topics...), extra...)
	cl, err := c.newClient(d, name, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	loop.Client = cl
	if err := loop.Run(ctx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// runTxnLoop runs a consume loop whose polls are transactions (see
// stream.Loop.Session). newHandler gets the session's client, through which
// the handler must produce.
func (c Config) runTxnLoop(ctx context.Context, d Deps, name, group string, newHandler func(*kgo.Client) stream.Handler, topics []string, extra ...kgo.Opt) error {
	loop := &stream.Loop{Logger: d.Logger.With("loop", name), Metrics: stream.NewLoopMetrics(d.Registry, c.GroupPrefix+group)}
	kc := c.Kafka
	if kc.ClientID == "" {
		kc.ClientID = "driftline-" + name
	}
	opts := append(kc.Options(d.Logger), loop.GroupOptions(c.GroupPrefix+group, topics...)...)
	opts = append(opts, stream.TransactionOptions(transactionalID(c.GroupPrefix+group))...)
	sess, err := kgo.NewGroupTransactSession(append(opts, extra...)...)
	if err != nil {
		return fmt.Errorf("%s: kafka transactional client: %w", name, err)
	}
	defer sess.Close()
	loop.Session, loop.Client = sess, sess.Client()
	loop.Handler = newHandler(sess.Client())
	if err := loop.Run(ctx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// transactionalID names one member's transactions: unique per process and
// loop, since two live producers with one id fence each other, and free to
// change across restarts because KIP-447 fences zombies by group generation.
func transactionalID(group string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%s-%d-%d", group, host, os.Getpid(), txnSeq.Add(1))
}

var txnSeq atomic.Int64

// Prepare creates the missing topics and checks that inferences and labels
// are co-partitioned.
func Prepare(ctx context.Context, c Config, d Deps, rawSources ...string) error {
	cl, err := c.newClient(d, "admin")
	if err != nil {
		return err
	}
	defer cl.Close()
	return stream.EnsureTopics(ctx, cl, c.topics(), stream.Layout{Partitions: int32(c.Partitions)}, rawSources...)
}

// group runs fns concurrently; the first error cancels the others.
func group(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// RunAll runs the five services in this process.
func RunAll(ctx context.Context, c Config, d Deps) error {
	return group(ctx,
		func(ctx context.Context) error { return RunAdapter(ctx, c, d) },
		func(ctx context.Context) error { return RunDrift(ctx, c, d) },
		func(ctx context.Context) error { return RunFeedback(ctx, c, d) },
		func(ctx context.Context) error { return RunShadow(ctx, c, d) },
		func(ctx context.Context) error { return RunTrigger(ctx, c, d) },
	)
}
