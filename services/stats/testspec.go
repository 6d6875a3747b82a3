package stats

import (
	"fmt"
	"strconv"
	"strings"
)

// TestNames are the short names of the tests Drift can decide with, as
// users spell them (driftline drift --test, the drift-aggregator's
// drift_tests) and as driftline drift prefixes their metrics.
var TestNames = map[string]string{
	MetricKS:                "ks",
	MetricChi2:              "chi2",
	MetricZ:                 "z",
	MetricPSI:               "psi",
	MetricWassersteinNormed: "wasserstein_normed",
	MetricJensenShannon:     "jensen_shannon",
	MetricHellinger:         "hellinger",
	MetricKL:                "kl_divergence",
}

// testAliases are the names a test spec takes besides TestNames': Evidently's
// stattest names, so its settings carry over.
var testAliases = map[string]string{
	"chisquare":     MetricChi2,
	"wasserstein":   MetricWassersteinNormed,
	"jensenshannon": MetricJensenShannon,
	"kl_div":        MetricKL,
	"z_test":        MetricZ,
	"ks_statistic":  MetricKS,
}

// Overrides replace the default test: for every feature (All) and by
// feature name (ByFeature, which wins).
type Overrides struct {
	All       *Test
	ByFeature map[string]Test
}

// For returns the feature's test; false means the default test decides.
func (ts Overrides) For(feature string) (Test, bool) {
	if t, ok := ts.ByFeature[feature]; ok {
		return t, true
	}
	if ts.All != nil {
		return *ts.All, true
	}
	return Test{}, false
}

// ParseTests parses a test spec: comma-separated entries TEST[:THRESHOLD]
// (every feature) or FEATURE=TEST[:THRESHOLD] (one feature), TEST one of
// TestNames or Evidently's names for them. A threshold left out is the
// test's default. Whether a test fits a feature's kind is CheckTest's.
func ParseTests(spec string) (Overrides, error) {
	ts := Overrides{ByFeature: map[string]Test{}}
	byName := map[string]string{}
	for m, n := range TestNames {
		byName[n] = m
	}
	for a, m := range testAliases {
		byName[a] = m
	}
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		feature, test, perFeature := strings.Cut(entry, "=")
		if !perFeature {
			feature, test = "", entry
		}
		name, th, hasTh := strings.Cut(test, ":")
		metric, ok := byName[strings.TrimSpace(name)]
		if !ok || perFeature && strings.TrimSpace(feature) == "" {
			return ts, fmt.Errorf("test %q: want TEST[:THRESHOLD] or FEATURE=TEST[:THRESHOLD], TEST one of ks, chi2, z, psi, wasserstein_normed, jensen_shannon, hellinger, kl_divergence", entry)
		}
		t := Test{Metric: metric}
		if hasTh {
			x, err := strconv.ParseFloat(strings.TrimSpace(th), 64)
			if err != nil || !(x > 0) {
				return ts, fmt.Errorf("test %q: threshold %q is not a positive number", entry, th)
			}
			t.Threshold = x
		}
		if perFeature {
			ts.ByFeature[strings.TrimSpace(feature)] = t
		} else {
			ts.All = &t
		}
	}
	return ts, nil
}
