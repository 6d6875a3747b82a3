package stats_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/driftline/driftline/services/stats"
)

func TestParseTests(t *testing.T) {
	tests := []struct {
		spec    string
		all     *stats.Test
		by      map[string]stats.Test
		wantErr string
	}{
		{spec: "", by: map[string]stats.Test{}},
		{spec: "psi:0.2", all: &stats.Test{Metric: stats.MetricPSI, Threshold: 0.2}, by: map[string]stats.Test{}},
		{spec: " plan = jensenshannon , ks , age=kl_divergence:0.05",
			all: &stats.Test{Metric: stats.MetricKS},
			by: map[string]stats.Test{"plan": {Metric: stats.MetricJensenShannon},
				"age": {Metric: stats.MetricKL, Threshold: 0.05}}},
		{spec: "t_test", wantErr: `test "t_test": want TEST`},
		{spec: "=psi", wantErr: `test "=psi": want TEST`},
		{spec: "psi:-1", wantErr: `threshold "-1" is not a positive number`},
		{spec: "psi:x", wantErr: `threshold "x" is not a positive number`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := stats.ParseTests(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.All, tt.all) || !reflect.DeepEqual(got.ByFeature, tt.by) {
				t.Errorf("got %+v %+v, want %+v %+v", got.All, got.ByFeature, tt.all, tt.by)
			}
			// A feature's own entry wins over the one for every feature.
			if tt.all != nil {
				for name, want := range tt.by {
					if got, _ := got.For(name); got != want {
						t.Errorf("For(%s) = %+v, want %+v", name, got, want)
					}
				}
				if got, ok := got.For("other"); !ok || got != *tt.all {
					t.Errorf("For(other) = %+v %v, want %+v", got, ok, *tt.all)
				}
			}
		})
	}
}

// ParseTests never panics, and what it accepts names known tests with
// positive thresholds.
func FuzzParseTests(f *testing.F) {
	for _, s := range []string{"", "psi:0.2", "plan=jensen_shannon,ks", "a=kl_div:0.05, b = z", "=psi", "psi:-1", "x=y=z:1:2", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ts, err := stats.ParseTests(spec)
		if err != nil {
			return
		}
		check := func(tt stats.Test) {
			if _, ok := stats.TestNames[tt.Metric]; !ok || tt.Threshold < 0 {
				t.Fatalf("%q: accepted %+v", spec, tt)
			}
		}
		if ts.All != nil {
			check(*ts.All)
		}
		for _, tt := range ts.ByFeature {
			check(tt)
		}
	})
}
