package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/aggregate"
	"github.com/driftline/driftline/services/drift"
	"github.com/driftline/driftline/services/feedback"
	"github.com/driftline/driftline/services/ingest"
	"github.com/driftline/driftline/services/policy"
	"github.com/driftline/driftline/services/shadow"
	"github.com/driftline/driftline/services/stats"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/services/trigger"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// RunAdapter normalises raw records into canonical events.
func RunAdapter(ctx context.Context, c Config, d Deps) error {
	t := c.topics()
	sources, err := c.sources()
	if err != nil {
		return fmt.Errorf("adapter: %w", err)
	}
	metrics := ingest.NewMetrics(d.Registry)
	newHandler := func(prod *kgo.Client) stream.Handler {
		return &ingest.Handler{Topics: t, Producer: prod, Store: d.Store, Sources: sources, Metrics: metrics}
	}
	// The adapter subscribes to raw topics by pattern, and a topic created
	// after start-up (or still without a leader) is only seen at the next
	// metadata refresh: refresh every 10 s instead of franz-go's 5 minutes.
	//
	// Each poll is one transaction whose end waits on the broker a few
	// times, so polls of franz-go's default 1 MiB per partition left the
	// adapter idle half the time under load (docs/load.md): fetch more.
	opts := []kgo.Opt{kgo.ConsumeRegex(), kgo.MetadataMinAge(time.Second), kgo.MetadataMaxAge(10 * time.Second),
		kgo.FetchMaxPartitionBytes(8 << 20)}
	topics := []string{t.RawPattern()}
	if c.Kafka.Transactions {
		// One record's canonical event or dead letter and its offset
		// commit together: a crash never duplicates an event downstream.
		return c.runTxnLoop(ctx, d, "adapter", "adapter", newHandler, topics, opts...)
	}
	prod, err := c.newClient(d, "adapter-producer")
	if err != nil {
		return err
	}
	defer prod.Close()
	return c.runLoop(ctx, d, "adapter", "adapter", newHandler(prod), topics, opts...)
}

// partitionCounts returns the partition counts of the inferences and
// partials topics, which level 1 reports to level 2.
func (c Config) partitionCounts(ctx context.Context, d Deps) (source, partials int32, err error) {
	cl, err := c.newClient(d, "admin")
	if err != nil {
		return 0, 0, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	t := c.topics()
	if source, err = stream.PartitionCount(ctx, adm, t.Inferences()); err != nil {
		return 0, 0, err
	}
	if partials, err = stream.PartitionCount(ctx, adm, t.Partials()); err != nil {
		return 0, 0, err
	}
	return source, partials, nil
}

// runLevels runs one family's level 1 (a consume loop over topics feeding
// router) and level 2 (a consume loop over the partials merging with comp).
func runLevels[A aggregate.Accumulator](ctx context.Context, c Config, d Deps, name string, topics []string,
	wcfg window.Config, newAcc func(window.Key) A, router aggregate.Router[A], family string, comp aggregate.Computer, extra ...kgo.Opt) error {
	t := c.topics()
	source, partials, err := c.partitionCounts(ctx, d)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	l1prod, err := c.newClient(d, name+"-l1-producer")
	if err != nil {
		return err
	}
	defer l1prod.Close()
	l2prod, err := c.newClient(d, name+"-l2-producer")
	if err != nil {
		return err
	}
	defer l2prod.Close()
	metrics := aggregate.NewMetrics(d.Registry, family)
	l1 := &aggregate.Level1[A]{Engine: window.NewLevel1(wcfg, newAcc), Router: router, Producer: l1prod, Topics: t, Family: family,
		Source: t.Inferences(), SourcePartitions: source, PartialsPartitions: partials, Metrics: metrics}
	l2 := &aggregate.Level2{Engine: window.NewLevel2(family, wcfg), Computer: comp, Producer: l2prod, Store: d.Store,
		Topics: t, OnMetrics: d.OnMetrics, Metrics: metrics}
	return group(ctx,
		func(ctx context.Context) error {
			return c.runLoop(ctx, d, name+"-l1", name+"-l1", l1, topics, append(aggregate.ConsumerOptions(), extra...)...)
		},
		func(ctx context.Context) error {
			return c.runLoop(ctx, d, name+"-l2", name+"-l2", l2, []string{t.Partials()})
		},
	)
}

// RunDrift runs the drift-aggregator: both levels and the reference reader.
func RunDrift(ctx context.Context, c Config, d Deps) error {
	t := c.topics()
	tests, err := stats.ParseTests(c.DriftTests)
	if err != nil {
		return fmt.Errorf("drift_tests: %w", err)
	}
	wcfg, err := c.window(false)
	if err != nil {
		return fmt.Errorf("drift-aggregator: %w", err)
	}
	refs := drift.NewReferences()
	refCl, err := c.newClient(d, "drift-references", kgo.ConsumeTopics(t.References()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer refCl.Close()
	return group(ctx,
		func(ctx context.Context) error {
			// Copied into ClickHouse: views computed on demand from the
			// stored windows need the profiles they were measured against.
			return refs.Follow(ctx, refCl, t.References(), func(ctx context.Context, ps []*schemas.ReferenceProfile) error {
				return drift.SaveProfiles(ctx, d.Store, ps)
			})
		},
		func(ctx context.Context) error {
			// Sketching before the profiles are read would bin nothing.
			select {
			case <-refs.Loaded():
			case <-ctx.Done():
				return nil
			}
			return runLevels(ctx, c, d, "drift", []string{t.Inferences()}, wcfg, drift.NewAcc(refs),
				&drift.Router{}, "drift", &drift.Computer{Refs: refs, Tests: tests})
		},
	)
}

// RunFeedback runs the feedback-labeler. Range balancing gives one member
// the same partition number of inferences and labels, which the join needs.
func RunFeedback(ctx context.Context, c Config, d Deps) error {
	t := c.topics()
	r := &feedback.Router{Store: d.Store, Topics: t, Horizon: c.LabelHorizon, OutOfOrderness: c.OutOfOrderness}
	// The join reads the labels stored so far: a window finished while a
	// partition was idle is joined again once that partition passed it.
	wcfg, err := c.window(true)
	if err != nil {
		return fmt.Errorf("feedback-labeler: %w", err)
	}
	wcfg.RecomputeAfterIdle = true
	return runLevels(ctx, c, d, "feedback", []string{t.Inferences(), t.Labels()}, wcfg, feedback.NewAcc, r,
		"performance", feedback.Computer{Store: d.Store}, kgo.Balancers(kgo.RangeBalancer()))
}

// RunShadow runs the shadow-evaluator.
func RunShadow(ctx context.Context, c Config, d Deps) error {
	t := c.topics()
	r := &shadow.Router{Horizon: c.ShadowHorizon, OutOfOrderness: c.OutOfOrderness, Topic: t.Inferences()}
	wcfg, err := c.window(true)
	if err != nil {
		return fmt.Errorf("shadow-evaluator: %w", err)
	}
	return runLevels(ctx, c, d, "shadow", []string{t.Inferences()}, wcfg, shadow.NewAcc, r,
		"shadow", shadow.Computer{})
}

// RunTrigger runs the retrain-trigger, its cooldowns seeded from the
// triggers it emitted before.
func RunTrigger(ctx context.Context, c Config, d Deps) error {
	set := policy.Default()
	if c.Policies != "" {
		var err error
		if set, err = policy.LoadFile(c.Policies); err != nil {
			return fmt.Errorf("retrain-trigger: %w", err)
		}
	}
	ev := policy.NewEvaluator(set)
	recent, err := trigger.Recent(ctx, d.Store, time.Now().Add(-90*24*time.Hour))
	if err != nil {
		return fmt.Errorf("retrain-trigger: %w", err)
	}
	ev.Seed(recent)
	prod, err := c.newClient(d, "retrain-trigger-producer")
	if err != nil {
		return err
	}
	defer prod.Close()
	h := &trigger.Handler{Evaluator: ev, Producer: prod, Store: d.Store, Topics: c.topics(), OnTrigger: d.OnTrigger}
	return c.runLoop(ctx, d, "retrain-trigger", "retrain-trigger", h, []string{c.topics().Metrics()})
}
