package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The test data: testdata/drift_reference.csv (300 rows) and
// testdata/drift_current.csv (200 rows), written by testdata/drift_gen.py
// with a fixed seed. Columns: id (a row number, different ranges), age
// (integers, same distribution: stable), income (integers in thousands,
// shifted by one standard deviation: drifted; 10 "NA" in each file), plan
// (categorical; the current file adds "enterprise", which the reference
// never saw), comment (empty everywhere: no verdict).
const (
	driftRef = "testdata/drift_reference.csv"
	driftCur = "testdata/drift_current.csv"
)

// The compared columns, without id.
var driftColumns = "age,income,plan,comment"

func TestDriftGolden(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"json", []string{"--format", "json"}, "drift_golden.json"},
		{"table", nil, "drift_golden.txt"},
		{"table explicit", []string{"--format", "table"}, "drift_golden.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"drift", "--reference", driftRef, "--current", driftCur, "--columns", driftColumns}, tt.args...)
			out, _, err := runCmd(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(tt.golden, ".json") {
				goldenJSON(t, tt.golden, out)
			} else {
				golden(t, tt.golden, out)
			}
		})
	}
}

// goldenJSON is golden for JSON, comparing numbers to 1e-12 relative so
// that an architecture fusing multiply-adds differently does not fail it.
func goldenJSON(t *testing.T, name, got string) {
	t.Helper()
	want := []byte(readGolden(t, name, got))
	path := filepath.Join("testdata", name)
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !jsonClose(g, w) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func jsonClose(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= 1e-12*math.Max(math.Abs(x), math.Abs(y))
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !jsonClose(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonClose(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(a, b)
	}
}

// driftJSON runs driftline drift --format json and decodes the report.
func driftJSON(t *testing.T, args ...string) driftReport {
	t.Helper()
	out, _, err := runCmd(t, append([]string{"drift", "--format", "json"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var rep driftReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return rep
}

// The statistics against scipy 1.x / numpy (testdata/drift_gen.py prints
// them): ks_statistic and ks_p_value are scipy.stats.ks_2samp(ref, cur,
// method="asymp") on the non-missing values, exact here because the
// reference has fewer than 100 distinct values (stats.MetricKS); psi is
// numpy over the reference's decile bins with Evidently's epsilon;
// jensen_shannon is scipy.spatial.distance.jensenshannon over the same
// cells (categories for plan); wasserstein is
// scipy.stats.wasserstein_distance.
func TestDriftAgainstScipy(t *testing.T) {
	rep := driftJSON(t, "--reference", driftRef, "--current", driftCur, "--columns", driftColumns)
	cols := map[string]driftColumn{}
	for _, c := range rep.Columns {
		cols[c.Name] = c
	}
	tests := []struct {
		column, metric string
		want, tol      float64 // tol: absolute
	}{
		{"age", "ks_statistic", 0.06833333333333336, 1e-12},
		{"age", "ks_p_value", 0.6050164571185385, 1e-10},
		{"age", "psi", 0.07384313181744442, 1e-12},
		{"age", "jensen_shannon", 0.09577291316099801, 1e-12},
		// Eight current ages are not reference values (18, below the
		// reference minimum 19, and 21, 23, 23, 24, 24, 66, 74): the sketch
		// spreads each over its quantile bin, where scipy has it at its
		// value. stats.MetricWasserstein bounds the error by the bins'
		// widths times those shares: 0.14 here (drift_gen.py's data; got
		// 1.2675, 0.0125 from scipy).
		{"age", "wasserstein", 1.2550000000000001, 0.14},
		{"income", "ks_statistic", 0.36769509981851173, 1e-12},
		{"income", "ks_p_value", 1.8859126290657922e-14, 1e-20},
		{"income", "psi", 0.9900715880039554, 1e-12},
		{"income", "jensen_shannon", 0.33077872069267295, 1e-12},
		// Eleven current values above the reference range: the mean
		// difference bound (exact here) takes over.
		{"income", "wasserstein", 11.079673321234118, 1e-9},
		{"income", "wasserstein_normed", 11.079673321234118 / 11.187293199518182, 1e-9},
		{"income", "missing_share_reference", 10.0 / 300, 1e-15},
		{"income", "missing_share_current", 10.0 / 200, 1e-15},
		// numpy.percentile of the current values (lower and higher agree
		// here), within the quantile sketch's 1%.
		{"age", "p50", 44, 0.44},
		{"age", "p95", 61, 0.61},
		{"income", "p50", 72, 0.72},
		{"income", "p95", 90, 0.9},
		{"plan", "jensen_shannon", 0.20589604017993843, 1e-12},
		// Evidently 0.7.23's own _hellinger_distance and _kl_div on the
		// plan columns (same cells: the categories of both files).
		{"plan", "hellinger", 0.24502799737794487, 1e-12},
		{"plan", "kl_divergence", 0.12462454341376257, 1e-12},
		{"plan", "unseen_share", 0.115, 1e-15},
	}
	for _, tt := range tests {
		got, ok := cols[tt.column].Metrics[tt.metric]
		if !ok {
			t.Errorf("%s: no %s", tt.column, tt.metric)
			continue
		}
		if math.Abs(got-tt.want) > tt.tol {
			t.Errorf("%s %s = %v, scipy %v (tolerance %g)", tt.column, tt.metric, got, tt.want, tt.tol)
		}
	}
}

// Each column gets its kind's metrics only, the default test and the
// right verdict.
func TestDriftVerdicts(t *testing.T) {
	quality := []string{"missing_share_current", "missing_share_reference", "type_mismatch_share", "type_mismatches", "constant"}
	numeric := append([]string{"jensen_shannon", "hellinger", "kl_divergence", "ks_p_value", "ks_statistic", "psi", "wasserstein", "wasserstein_normed", "out_of_range_share", "p50", "p95", "p99"}, quality...)
	categorical := append([]string{"chi2_p_value", "chi2_statistic", "jensen_shannon", "hellinger", "kl_divergence", "psi", "unseen_share"}, quality...)
	tests := []struct {
		name, kind, test string
		drift, scored    bool
		metrics          []string
	}{
		{"age", "numeric", "ks", false, true, numeric},
		{"income", "numeric", "ks", true, true, numeric},
		{"plan", "categorical", "chi2", true, true, categorical},
		// No values in either file: the default test of a reference with
		// at most two distinct values (none), no score.
		{"comment", "numeric", "z", false, false, []string{"missing_share_current", "missing_share_reference", "type_mismatch_share", "type_mismatches"}},
	}
	rep := driftJSON(t, "--reference", driftRef, "--current", driftCur, "--columns", driftColumns)
	if len(rep.Columns) != len(tests) {
		t.Fatalf("%d columns, want %d", len(rep.Columns), len(tests))
	}
	for i, tt := range tests {
		c := rep.Columns[i]
		if c.Name != tt.name || c.Kind != tt.kind || c.Test != tt.test || c.DriftDetected != tt.drift || (c.Score != nil) != tt.scored {
			t.Errorf("column %d: %s %s %s drift=%v score=%v; want %s %s %s drift=%v scored=%v",
				i, c.Name, c.Kind, c.Test, c.DriftDetected, c.Score, tt.name, tt.kind, tt.test, tt.drift, tt.scored)
		}
		if c.Threshold != 0.05 {
			t.Errorf("%s: threshold %v, want 0.05", c.Name, c.Threshold)
		}
		var keys []string
		for k := range c.Metrics {
			keys = append(keys, k)
		}
		if !sameSet(keys, tt.metrics) {
			t.Errorf("%s: metrics %v, want %v", c.Name, keys, tt.metrics)
		}
		if c.Score != nil {
			p := c.Metrics[tt.test+"_p_value"]
			if *c.Score != p {
				t.Errorf("%s: score %v, want the %s p-value %v", c.Name, *c.Score, tt.test, p)
			}
		}
	}
	// comment has no values: 2 of the 3 others drifted.
	if !rep.DatasetDrift || math.Abs(rep.DriftedShare-2.0/3) > 1e-15 {
		t.Errorf("dataset drift %v, share %v; want true, 2/3", rep.DatasetDrift, rep.DriftedShare)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}

func TestDriftColumns(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		columns []string // in output order
		kinds   []string
		share   float64
		drift   bool
	}{
		// Without --columns, every reference column, id too: its ranges do
		// not overlap, so it drifts.
		{"all", nil, []string{"id", "age", "income", "plan", "comment"}, nil, 0.75, true},
		// Exactly half drifted is dataset drift (>= 0.5).
		{"half", []string{"--columns", "plan,age"}, []string{"age", "plan"}, nil, 0.5, true},
		{"stable", []string{"--columns", "age"}, []string{"age"}, nil, 0, false},
		// As categories, age drifts: the current file has ages the
		// reference never saw (18, 21, 23, 24, 66, 74), and chi-square
		// gives an unseen category the PSI epsilon as expected share
		// (stats.MetricChi2), so p ~ 0.
		{"categorical", []string{"--columns", "age,plan", "--categorical", "age"}, []string{"age", "plan"},
			[]string{"categorical", "categorical"}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := driftJSON(t, append([]string{"--reference", driftRef, "--current", driftCur}, tt.args...)...)
			var names, kinds []string
			for _, c := range rep.Columns {
				names = append(names, c.Name)
				kinds = append(kinds, c.Kind)
			}
			if strings.Join(names, ",") != strings.Join(tt.columns, ",") {
				t.Errorf("columns %v, want %v", names, tt.columns)
			}
			if tt.kinds != nil && strings.Join(kinds, ",") != strings.Join(tt.kinds, ",") {
				t.Errorf("kinds %v, want %v", kinds, tt.kinds)
			}
			if rep.DriftedShare != tt.share || rep.DatasetDrift != tt.drift {
				t.Errorf("share %v drift %v, want %v %v", rep.DriftedShare, rep.DatasetDrift, tt.share, tt.drift)
			}
		})
	}
}

// Bad input fails with the file, the line and the column.
func TestDriftErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no flags", nil, "--reference and --current are required"},
		{"no current", []string{"--reference", driftRef}, "--reference and --current are required"},
		{"bad format", []string{"--reference", driftRef, "--current", driftCur, "--format", "xml"}, `--format must be table or json, not "xml"`},
		{"stray argument", []string{"--reference", driftRef, "--current", driftCur, "extra"}, `unexpected argument "extra"`},
		{"no such file", []string{"--reference", driftRef, "--current", "testdata/drift_nope.csv"}, "testdata/drift_nope.csv"},
		{"unknown column", []string{"--reference", driftRef, "--current", driftCur, "--columns", "age,salary"},
			`testdata/drift_reference.csv: Options.Columns: no column "salary" in the header`},
		{"column missing from current", []string{"--reference", driftRef, "--current", "testdata/drift_err_nocolumn.csv"},
			`testdata/drift_err_nocolumn.csv:1: no column "plan" in the header`},
		{"unknown test", []string{"--reference", driftRef, "--current", driftCur, "--test", "age=t_test"}, `--test "age=t_test"`},
		{"bad threshold", []string{"--reference", driftRef, "--current", driftCur, "--test", "psi:-1"}, `threshold "-1" is not a positive number`},
		{"test for no column", []string{"--reference", driftRef, "--current", driftCur, "--columns", "age", "--test", "plan=psi"}, `--test: no compared column "plan"`},
		{"numeric test on categories", []string{"--reference", driftRef, "--current", driftCur, "--test", "plan=ks"},
			`--test for column "plan": stats: ks_statistic applies to numeric features only`},
		{"z on many values", []string{"--reference", driftRef, "--current", driftCur, "--test", "z"},
			`--test for column "id": stats: z_test applies to features with at most 2 distinct values`},
		{"p-value threshold above 1", []string{"--reference", driftRef, "--current", driftCur, "--test", "age=ks:2"},
			`threshold 2 out of range for ks_statistic`},
		{"ragged current", []string{"--reference", driftRef, "--current", "testdata/drift_err_ragged.csv"},
			"testdata/drift_err_ragged.csv:4: row has 3 fields, the header has 5"},
		{"ragged reference", []string{"--reference", "testdata/drift_err_ragged.csv", "--current", driftCur},
			"testdata/drift_err_ragged.csv:4: row has 3 fields, the header has 5"},
		{"no rows", []string{"--reference", driftRef, "--current", "testdata/drift_err_empty.csv"},
			"testdata/drift_err_empty.csv: no data rows"},
		// --columns leaves the column the bad row lacks out, but a ragged
		// row is still an error.
		{"ragged outside columns", []string{"--reference", driftRef, "--current", "testdata/drift_err_ragged.csv", "--columns", "age"},
			"testdata/drift_err_ragged.csv:4: row has 3 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCmd(t, append([]string{"drift"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if out != "" {
				t.Errorf("printed %q on error", out)
			}
		})
	}
}

// A value that is not a number in a numeric column is a type mismatch,
// counted, not an error.
func TestDriftTypeMismatches(t *testing.T) {
	rep := driftJSON(t, "--reference", driftRef, "--current", "testdata/drift_mismatch.csv", "--columns", "age,income,plan")
	want := map[string][2]float64{ // type_mismatches, type_mismatch_share
		"age":    {1, 0.25}, // "4O"
		"income": {0, 0},    // "n/a" counts as missing
		"plan":   {0, 0},
	}
	for _, c := range rep.Columns {
		w := want[c.Name]
		if c.Metrics["type_mismatches"] != w[0] || c.Metrics["type_mismatch_share"] != w[1] {
			t.Errorf("%s: type_mismatches %v, share %v; want %v", c.Name, c.Metrics["type_mismatches"], c.Metrics["type_mismatch_share"], w)
		}
	}
	if got := rep.Columns[1].Metrics["missing_share_current"]; got != 0.25 {
		t.Errorf("income missing_share_current %v, want 0.25", got)
	}
}

// --test picks a column's test and threshold; one without a column name
// applies to every column, a per-column one wins.
func TestDriftTestFlag(t *testing.T) {
	tests := []struct {
		name   string
		flag   string
		column string
		test   string
		th     float64
		score  string // metric the score repeats
	}{
		{"default", "", "age", "ks", 0.05, "ks_p_value"},
		{"psi everywhere", "psi", "age", "psi", 0.1, "psi"},
		{"psi everywhere, plan too", "psi", "plan", "psi", 0.1, "psi"},
		{"per column wins", "psi,plan=hellinger:0.3", "plan", "hellinger", 0.3, "hellinger"},
		{"evidently name", "age=kl_div", "age", "kl_divergence", 0.1, "kl_divergence"},
		{"wasserstein alias", "income=wasserstein:0.5", "income", "wasserstein_normed", 0.5, "wasserstein_normed"},
		{"chi2 on numeric", "age=chisquare", "age", "chi2", 0.05, "chi2_p_value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := driftJSON(t, "--reference", driftRef, "--current", driftCur, "--columns", "age,income,plan", "--test", tt.flag)
			for _, c := range rep.Columns {
				if c.Name != tt.column {
					continue
				}
				if c.Test != tt.test || c.Threshold != tt.th || c.Score == nil || *c.Score != c.Metrics[tt.score] {
					t.Fatalf("%s: test %s threshold %v score %v; want %s %v score = %s %v", c.Name, c.Test, c.Threshold, c.Score, tt.test, tt.th, tt.score, c.Metrics[tt.score])
				}
				drift := *c.Score >= c.Threshold
				if strings.HasSuffix(tt.score, "_p_value") {
					drift = *c.Score < c.Threshold
				}
				if c.DriftDetected != drift {
					t.Errorf("%s: drift %v at score %v", c.Name, c.DriftDetected, *c.Score)
				}
				return
			}
			t.Fatalf("no column %s", tt.column)
		})
	}
}
