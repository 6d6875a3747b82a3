package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestLoadgenArgs(t *testing.T) {
	for _, c := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no brokers", []string{"loadgen", "--events", "10"}, "--brokers is required"},
		{"no limit", []string{"loadgen", "--brokers", "127.0.0.1:1"}, "set --duration or --events"},
		{"bad drift", []string{"loadgen", "--brokers", "127.0.0.1:1", "--events", "1", "--drift", "f001"}, "want feature@offset"},
		{"unknown feature", []string{"loadgen", "--brokers", "127.0.0.1:1", "--events", "1", "--features", "2", "--drift", "f005@1m"}, `no feature "f005"`},
		{"bad start", []string{"loadgen", "--brokers", "127.0.0.1:1", "--events", "1", "--start", "yesterday"}, "--start"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runCmd(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want %q", err, c.wantErr)
			}
		})
	}
}

// TestLoadgenProduces runs the command against franz-go's in-process Kafka:
// the topics are created, one reference profile per model is published,
// and exactly --events records reach the raw topic.
func TestLoadgenProduces(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	stdout, stderr, err := runCmd(t, "loadgen", "--brokers", addr, "--events", "3000", "--models", "3", "--features", "6",
		"--window-events", "1000", "--drift", "f002@1m", "--reference-rows", "500", "--close-after", "5s", "--start", "2026-01-01T00:00:00Z")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	// 3,000 records a minute of event time per 1,000: windows 0 and 1 are
	// passed by 5 s when the last record (2:59.94) is sent.
	if !strings.Contains(stdout, "3000 records (3000 inferences, 0 labels, 0 failed)") || !strings.Contains(stdout, "2 windows closable") {
		t.Fatalf("summary: %s", stdout)
	}
	if !strings.Contains(stderr, "published 3 reference profiles (500 rows, 6 features each)") {
		t.Fatalf("stderr: %s", stderr)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("driftline.references", "driftline.raw.load"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	models := map[string]int{}
	raw := 0
	for (len(models) < 3 || raw < 3000) && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if r.Topic == "driftline.raw.load" {
				raw++
				return
			}
			var p schemas.ReferenceProfile
			if err := schemas.Unmarshal(r.Value, &p); err != nil {
				t.Fatal(err)
			}
			models[p.ModelID] = len(p.Features)
		})
	}
	if raw != 3000 || len(models) != 3 || models["model-002"] != 6 {
		t.Fatalf("raw records %d, profiles %v", raw, models)
	}
}
