package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Layout is how many partitions Driftline's topics get when it creates them.
type Layout struct {
	// Partitions of the keyed canonical topics (inferences, labels) and of
	// new raw topics. Inferences and labels must match.
	Partitions int32
	// Replication factor; -1 takes the broker default.
	Replication int16
}

// EnsureTopics creates the canonical topics that do not exist yet, with the
// references topic compacted, and then checks that inferences and labels are
// co-partitioned, because the shadow-evaluator and the feedback-labeler join
// them partition by partition.
func EnsureTopics(ctx context.Context, cl *kgo.Client, t Topics, l Layout, raw ...string) error {
	if l.Partitions <= 0 {
		l.Partitions = 1
	}
	if l.Replication == 0 {
		l.Replication = -1
	}
	adm := kadm.NewClient(cl)
	compacted := "compact"
	specs := []struct {
		name    string
		parts   int32
		configs map[string]*string
	}{
		{t.Inferences(), l.Partitions, nil},
		{t.Labels(), l.Partitions, nil},
		{t.Partials(), l.Partitions, nil},
		{t.References(), 1, map[string]*string{"cleanup.policy": &compacted}},
		{t.Metrics(), l.Partitions, nil},
		{t.Retrain(), 1, nil},
		{t.Control(), 1, nil},
		{t.DeadLetter(), l.Partitions, nil},
	}
	for _, source := range raw {
		specs = append(specs, struct {
			name    string
			parts   int32
			configs map[string]*string
		}{t.Raw(source), l.Partitions, nil})
	}
	names := make([]string, 0, len(specs))
	for _, s := range specs {
		resp, err := adm.CreateTopic(ctx, s.parts, l.Replication, s.configs, s.name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", s.name, err)
		}
		names = append(names, s.name)
	}
	if err := waitLeaders(ctx, adm, names); err != nil {
		return err
	}
	return CheckCopartitioned(ctx, adm, t.Inferences(), t.Labels())
}

// waitLeaders waits (at most 30 s) until every partition of topics has a
// leader. A broker creates topics asynchronously: a client reading metadata
// right after CreateTopics may see a topic without leaders, and a regex
// subscriber (the adapter's raw topics) skips it until its next metadata
// refresh.
func waitLeaders(ctx context.Context, adm *kadm.Client, topics []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		why := ""
		tds, err := adm.ListTopics(ctx, topics...)
		if err != nil {
			why = err.Error()
		}
		for _, name := range topics {
			td, ok := tds[name]
			switch {
			case err != nil:
			case !ok:
				why = name + " is not listed yet"
			case td.Err != nil:
				why = fmt.Sprintf("%s: %v", name, td.Err)
			}
			for _, pd := range td.Partitions {
				if pd.Err != nil || pd.Leader < 0 {
					why = fmt.Sprintf("%s[%d] has no leader yet", name, pd.Partition)
				}
			}
		}
		if why == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics not ready: %s: %w", why, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// PartitionCount returns how many partitions topic has.
func PartitionCount(ctx context.Context, adm *kadm.Client, topic string) (int32, error) {
	td, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("describe topic %s: %w", topic, err)
	}
	d, ok := td[topic]
	if !ok || d.Err != nil {
		if ok {
			return 0, fmt.Errorf("describe topic %s: %w", topic, d.Err)
		}
		return 0, fmt.Errorf("describe topic %s: not found", topic)
	}
	return int32(len(d.Partitions)), nil
}

// CheckCopartitioned fails when a and b have different partition counts:
// records with the same key would then land on different partition numbers.
func CheckCopartitioned(ctx context.Context, adm *kadm.Client, a, b string) error {
	na, err := PartitionCount(ctx, adm, a)
	if err != nil {
		return err
	}
	nb, err := PartitionCount(ctx, adm, b)
	if err != nil {
		return err
	}
	if na != nb {
		return fmt.Errorf("topics %s (%d partitions) and %s (%d partitions) must have the same partition count: a request's predictions and label must land on the same partition number", a, na, b, nb)
	}
	return nil
}
