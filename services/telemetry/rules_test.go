package telemetry_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/services/aggregate"
	"github.com/driftline/driftline/services/ingest"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"
)

// recorder is a Registerer that keeps the names of what is registered.
type recorder struct{ names map[string]bool }

var fqName = regexp.MustCompile(`fqName: "([a-zA-Z0-9_:]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return nil
}
func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}
func (r *recorder) Unregister(prometheus.Collector) bool { return false }

// The alerting rules under infra/prometheus name only metrics the services
// export, and every rule says how long, how bad and what.
func TestAlertingRulesUseExportedMetrics(t *testing.T) {
	reg := &recorder{names: map[string]bool{}}
	aggregate.NewMetrics(reg, "drift")
	stream.NewLoopMetrics(reg, "g")
	store.Instrument(nil, reg)
	ingest.NewMetrics(reg)
	if len(reg.names) < 15 {
		t.Fatalf("only %d metric names registered: %v", len(reg.names), reg.names)
	}

	b, err := os.ReadFile("../../infra/prometheus/driftline-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				For         string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	metric := regexp.MustCompile(`\bdriftline_[a-z_]+`)
	rules := 0
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			rules++
			if _, err := time.ParseDuration(r.For); err != nil || r.Alert == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %q: for %q (%v), summary %q", r.Alert, r.For, err, r.Annotations["summary"])
			}
			switch r.Labels["severity"] {
			case "info", "warning", "critical":
			default:
				t.Errorf("rule %s: severity %q", r.Alert, r.Labels["severity"])
			}
			names := metric.FindAllString(r.Expr, -1)
			if len(names) == 0 {
				t.Errorf("rule %s reads no Driftline metric: %s", r.Alert, r.Expr)
			}
			for _, n := range names {
				base := n
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if s, ok := strings.CutSuffix(n, suffix); ok && reg.names[s] {
						base = s
					}
				}
				if !reg.names[base] {
					t.Errorf("rule %s reads %s, which no service exports", r.Alert, n)
				}
			}
		}
	}
	if rules == 0 {
		t.Fatal("no rules read")
	}
}
