package stream

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// topicState reads partition counts and cleanup.policy of topics.
func topicState(ctx context.Context, t *testing.T, adm *kadm.Client, topics ...string) (map[string]int, map[string]string) {
	t.Helper()
	td, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]int{}
	for _, name := range topics {
		d, ok := td[name]
		if !ok || d.Err != nil {
			t.Fatalf("topic %s: missing (%v)", name, d.Err)
		}
		parts[name] = len(d.Partitions)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	policy := map[string]string{}
	for _, rc := range rcs {
		if rc.Err != nil {
			t.Fatalf("describe configs of %s: %v", rc.Name, rc.Err)
		}
		for _, c := range rc.Configs {
			if c.Key == "cleanup.policy" && c.Value != nil {
				policy[rc.Name] = *c.Value
			}
		}
	}
	return parts, policy
}

func TestEnsureTopics(t *testing.T) {
	brokers := startKafka(t)
	ctx := testContext(t, 20*time.Second)
	cl := newClient(t, brokers)
	adm := kadm.NewClient(cl)

	for _, c := range []struct {
		name   string
		prefix string
		layout Layout
		raw    []string
		want   int // partitions of the keyed topics
	}{
		{"three partitions", "a.", Layout{Partitions: 3, Replication: 1}, []string{"app", "labels"}, 3},
		{"defaults", "b.", Layout{}, []string{"app"}, 1},
		{"no raw topics", "c.", Layout{Partitions: 6}, nil, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp := NewTopics(c.prefix)
			want := map[string]int{
				tp.Inferences(): c.want, tp.Labels(): c.want, tp.Partials(): c.want, tp.Metrics(): c.want,
				tp.DeadLetter(): c.want, tp.References(): 1, tp.Retrain(): 1, tp.Control(): 1,
			}
			for _, s := range c.raw {
				want[tp.Raw(s)] = c.want
			}
			var names []string
			for n := range want {
				names = append(names, n)
			}
			check := func(when string) {
				parts, policy := topicState(ctx, t, adm, names...)
				for n, w := range want {
					if parts[n] != w {
						t.Errorf("%s: %s has %d partitions, want %d", when, n, parts[n], w)
					}
				}
				if policy[tp.References()] != "compact" {
					t.Errorf("%s: %s cleanup.policy = %q, want compact (a reference profile must outlive retention)", when, tp.References(), policy[tp.References()])
				}
				if policy[tp.Inferences()] == "compact" {
					t.Errorf("%s: %s is compacted; only the references topic may be", when, tp.Inferences())
				}
			}
			if err := EnsureTopics(ctx, cl, tp, c.layout, c.raw...); err != nil {
				t.Fatalf("first call: %v", err)
			}
			check("after the first call")
			// A second start (here with another layout) finds everything in
			// place, changes nothing and succeeds.
			again := c.layout
			again.Partitions += 4
			if err := EnsureTopics(ctx, cl, tp, again, c.raw...); err != nil {
				t.Fatalf("second call: %v", err)
			}
			check("after the second call")
			all, err := adm.ListTopics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for n := range all {
				if _, ok := want[n]; !ok && strings.HasPrefix(n, c.prefix) {
					t.Errorf("unexpected topic %s created", n)
				}
			}
		})
	}
}

// Inferences and labels created elsewhere with different partition counts
// stop the start-up with a message naming both topics and both counts.
func TestEnsureTopicsRejectsUnequalPartitionCounts(t *testing.T) {
	brokers := startKafka(t)
	ctx := testContext(t, 20*time.Second)
	cl := newClient(t, brokers)
	adm := kadm.NewClient(cl)

	for _, c := range []struct {
		name              string
		inferences, label int32
		wantErr           bool
	}{
		{"inferences more", 3, 2, true},
		{"labels more", 1, 4, true},
		{"equal but not the layout", 5, 5, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp := NewTopics(strings.ReplaceAll(c.name, " ", "-") + ".") // a prefix per case // a topic-name-safe prefix per case
			if _, err := adm.CreateTopic(ctx, c.inferences, 1, nil, tp.Inferences()); err != nil {
				t.Fatal(err)
			}
			if _, err := adm.CreateTopic(ctx, c.label, 1, nil, tp.Labels()); err != nil {
				t.Fatal(err)
			}
			err := EnsureTopics(ctx, cl, tp, Layout{Partitions: 2})
			if !c.wantErr {
				if err != nil {
					t.Fatalf("co-partitioned topics rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("EnsureTopics accepted %s with %d partitions and %s with %d", tp.Inferences(), c.inferences, tp.Labels(), c.label)
			}
			for _, s := range []string{tp.Inferences(), tp.Labels(), "same partition count",
				fmt.Sprintf("(%d partitions)", c.inferences), fmt.Sprintf("(%d partitions)", c.label)} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			// The check alone says the same.
			if err2 := CheckCopartitioned(ctx, adm, tp.Inferences(), tp.Labels()); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("CheckCopartitioned = %v, want %v", err2, err)
			}
		})
	}
	// A missing topic is an error naming it, not a pass.
	if err := CheckCopartitioned(ctx, adm, "nope.inferences", "nope.labels"); err == nil || !strings.Contains(err.Error(), "nope.inferences") {
		t.Errorf("CheckCopartitioned of missing topics = %v, want an error naming nope.inferences", err)
	}
}
