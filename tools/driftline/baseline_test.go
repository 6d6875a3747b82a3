package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/devkafka"
	"github.com/driftline/driftline/services/stream"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// wantFeature is what the profile of one column of testdata/train.csv must say.
type wantFeature struct {
	kind       string
	count      int64 // non-missing values
	missing    int64
	min, max   float64          // numeric only
	categories map[string]int64 // categorical only
}

func checkProfile(t *testing.T, p *schemas.ReferenceProfile, model, version string, want map[string]wantFeature, order []string) {
	t.Helper()
	if p.ModelID != model || p.ModelVersion != version {
		t.Errorf("profile for %q/%q, want %q/%q", p.ModelID, p.ModelVersion, model, version)
	}
	if p.RowCount != 6 {
		t.Errorf("RowCount = %d, want 6", p.RowCount)
	}
	if p.ReferenceID == "" {
		t.Error("ReferenceID is empty")
	}
	var names []string
	for _, f := range p.Features {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != strings.Join(order, ",") {
		t.Fatalf("features %v, want %v", names, order)
	}
	for _, f := range p.Features {
		w := want[f.Name]
		if f.Kind != w.kind || f.Count != w.count || f.Missing != w.missing {
			t.Errorf("%s: kind %s, count %d, missing %d; want %s, %d, %d", f.Name, f.Kind, f.Count, f.Missing, w.kind, w.count, w.missing)
		}
		switch w.kind {
		case schemas.KindNumeric:
			if f.Min != w.min || f.Max != w.max {
				t.Errorf("%s: range [%v, %v], want [%v, %v]", f.Name, f.Min, f.Max, w.min, w.max)
			}
			if len(f.BinCounts) != len(f.BinEdges)+1 {
				t.Errorf("%s: %d bin counts for %d edges", f.Name, len(f.BinCounts), len(f.BinEdges))
			}
			var n int64
			for _, c := range f.BinCounts {
				n += c
			}
			if n != w.count {
				t.Errorf("%s: bins hold %d values, want %d", f.Name, n, w.count)
			}
		case schemas.KindCategorical:
			if fmt.Sprint(f.Categories) != fmt.Sprint(w.categories) {
				t.Errorf("%s: categories %v, want %v", f.Name, f.Categories, w.categories)
			}
		}
	}
}

var trainFeatures = map[string]wantFeature{
	"id":     {kind: schemas.KindNumeric, count: 6, min: 1, max: 6},
	"age":    {kind: schemas.KindNumeric, count: 6, min: 29, max: 55},
	"plan":   {kind: schemas.KindCategorical, count: 6, categories: map[string]int64{"basic": 2, "enterprise": 1, "pro": 3}},
	"income": {kind: schemas.KindNumeric, count: 4, missing: 2, min: 48000.5, max: 91000},
	"zip":    {kind: schemas.KindNumeric, count: 6, min: 10115, max: 80331},
	"zip as category": {kind: schemas.KindCategorical, count: 6,
		categories: map[string]int64{"10115": 3, "20095": 2, "80331": 1}},
}

// baseline without --brokers prints the profile of the CSV as JSON.
func TestBaselinePrintsProfile(t *testing.T) {
	feature := func(names ...string) map[string]wantFeature {
		m := map[string]wantFeature{}
		for _, n := range names {
			key, as, _ := strings.Cut(n, "=")
			if as == "" {
				as = key
			}
			m[key] = trainFeatures[as]
		}
		return m
	}
	tests := []struct {
		name    string
		args    []string
		version string
		want    map[string]wantFeature
		order   []string
	}{
		{"every column", []string{"--model", "m"}, "",
			feature("id", "age", "plan", "income", "zip"), []string{"id", "age", "plan", "income", "zip"}},
		{"exclude and categorical", []string{"--model", "m", "--version", "v2", "--exclude", "id", "--categorical", "zip"}, "v2",
			feature("age", "plan", "income", "zip=zip as category"), []string{"age", "plan", "income", "zip"}},
		{"lists with spaces", []string{"--model", "m", "--exclude", " id , income ", "--categorical", "zip,"}, "",
			feature("age", "plan", "zip=zip as category"), []string{"age", "plan", "zip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runCmd(t, append([]string{"baseline", "--csv", "testdata/train.csv"}, tt.args...)...)
			if err != nil {
				t.Fatalf("%v (stderr %q)", err, stderr)
			}
			var p schemas.ReferenceProfile
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				t.Fatalf("stdout is not a JSON profile: %v\n%s", err, stdout)
			}
			if dec.More() {
				t.Errorf("more than one JSON value on stdout:\n%s", stdout)
			}
			checkProfile(t, &p, "m", tt.version, tt.want, tt.order)
			if age := time.Since(p.CreatedAt); age < 0 || age > time.Minute {
				t.Errorf("CreatedAt = %s, want about now", p.CreatedAt)
			}
		})
	}
}

// baseline --brokers publishes the profile on the compacted references
// topic, keyed model/version, where the drift-aggregator reads it; on a
// cluster the services have not set up yet it creates that topic itself.
func TestBaselinePublishes(t *testing.T) {
	tests := []struct {
		name      string
		setUp     bool // the services created the topics before
		version   string
		wantKey   string
		wantPrint string
	}{
		{"topics exist", true, "", "m/", "for m (every version without a profile of its own): 6 rows, 4 features\n"},
		{"fresh cluster", false, "", "m/", "for m (every version without a profile of its own): 6 rows, 4 features\n"},
		{"with a version", true, "v3", "m/v3", "for m v3: 6 rows, 4 features\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			k, err := devkafka.Start(devkafka.Options{Partitions: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			topics := stream.NewTopics("")
			cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.ConsumeTopics(topics.References()),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if tt.setUp {
				if err := stream.EnsureTopics(ctx, cl, topics, stream.Layout{Partitions: 1}); err != nil {
					t.Fatal(err)
				}
			}

			args := []string{"baseline", "--csv", "testdata/train.csv", "--model", "m", "--exclude", "id", "--brokers", strings.Join(k.Brokers(), ",")}
			if tt.version != "" {
				args = append(args, "--version", tt.version)
			}
			stdout, stderr, err := runCmd(t, args...)
			if err != nil {
				t.Fatalf("%v (stderr %q)", err, stderr)
			}

			var recs []*kgo.Record
			for len(recs) == 0 && ctx.Err() == nil {
				pctx, pcancel := context.WithTimeout(ctx, time.Second)
				cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
				pcancel()
			}
			if len(recs) != 1 {
				t.Fatalf("read %d records from %s, want 1", len(recs), topics.References())
			}
			if string(recs[0].Key) != tt.wantKey {
				t.Errorf("key %q, want %q", recs[0].Key, tt.wantKey)
			}
			var p schemas.ReferenceProfile
			if err := schemas.Unmarshal(recs[0].Value, &p); err != nil {
				t.Fatal(err)
			}
			checkProfile(t, &p, "m", tt.version, map[string]wantFeature{
				"age": trainFeatures["age"], "plan": trainFeatures["plan"], "income": trainFeatures["income"], "zip": trainFeatures["zip"],
			}, []string{"age", "plan", "income", "zip"})
			if want := "published reference profile " + p.ReferenceID + " " + tt.wantPrint; stdout != want {
				t.Errorf("stdout %q, want %q", stdout, want)
			}

			// The topic is compacted, whoever created it: the profile must
			// outlive the retention time.
			rcs, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, topics.References())
			if err != nil {
				t.Fatal(err)
			}
			rc, err := rcs.On(topics.References(), nil)
			if err != nil {
				t.Fatal(err)
			}
			policy := ""
			for _, c := range rc.Configs {
				if c.Key == "cleanup.policy" && c.Value != nil {
					policy = *c.Value
				}
			}
			if policy != "compact" {
				t.Errorf("cleanup.policy of %s = %q, want compact", topics.References(), policy)
			}
		})
	}
}
