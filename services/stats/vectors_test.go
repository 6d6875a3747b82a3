package stats_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/reference"
	"github.com/driftline/driftline/services/stats"
)

// The vectors come from tools/testvectors/drift_vectors.py (numpy, scipy).
type vectorFile struct {
	Numpy     string       `json:"numpy"`
	Scipy     string       `json:"scipy"`
	Evidently string       `json:"evidently"`
	Vectors   []vector     `json:"vectors"`
	KSTwo     [][3]float64 `json:"kstwo_sf"`
	Chi2      [][3]float64 `json:"chi2_sf"`
}

type vector struct {
	Name             string   `json:"name"`
	Note             string   `json:"note"`
	Kind             string   `json:"kind"`
	Reference        []any    `json:"reference"`
	Current          []any    `json:"current"`
	ExactKS          bool     `json:"exact_ks"`
	ExactWasserstein bool     `json:"exact_wasserstein"`
	NoValues         bool     `json:"no_values"` // the current sample has no usable value
	Expected         expected `json:"expected"`
}

type testValue struct {
	Statistic float64 `json:"statistic"`
	PValue    float64 `json:"pvalue"`
	// PValueExact is 2·norm.sf(|z|) for the Z-test, whose Evidently
	// p-value 2·(1 − norm.cdf(|z|)) rounds to 0 in the far tail.
	PValueExact *float64 `json:"pvalue_exact"`
}

type quantileValue struct {
	Lower  float64 `json:"lower"`
	Linear float64 `json:"linear"`
	Higher float64 `json:"higher"`
}

type expected struct {
	BinEdges          []float64                `json:"bin_edges"`
	QuantileEdges     []float64                `json:"quantile_edges"`
	RefQuantileCounts []int64                  `json:"ref_quantile_counts"`
	CurQuantileCounts []int64                  `json:"cur_quantile_counts"`
	Count             int64                    `json:"count"`
	Unique            int64                    `json:"unique"`
	Mean              float64                  `json:"mean"`
	Std               float64                  `json:"std"`
	KSBinned          float64                  `json:"ks_binned_statistic"`
	PSI               float64                  `json:"psi"`
	JensenShannon     float64                  `json:"jensen_shannon"`
	Hellinger         float64                  `json:"hellinger"`
	KL                float64                  `json:"kl_divergence"`
	Z                 *testValue               `json:"z_test"`
	KS                testValue                `json:"ks_statistic"`
	Wasserstein       float64                  `json:"wasserstein"`
	WassersteinNormed float64                  `json:"wasserstein_normed"`
	Chi2              testValue                `json:"chi2"`
	UnseenShare       float64                  `json:"unseen_share"`
	MissingShare      float64                  `json:"missing_share"`
	TypeMismatchShare float64                  `json:"type_mismatch_share"`
	TypeMismatches    float64                  `json:"type_mismatches"`
	OutOfRangeShare   *float64                 `json:"out_of_range_share"`
	Constant          float64                  `json:"constant"`
	Quantiles         map[string]quantileValue `json:"quantiles"`
	DefaultTest       string                   `json:"default_test"`
	Detected          bool                     `json:"detected"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/drift_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 || len(f.KSTwo) == 0 || len(f.Chi2) == 0 {
		t.Fatal("empty test vectors")
	}
	return f
}

// close reports whether got is within rel (relative) or abs (absolute) of want.
func close(got, want, rel, abs float64) bool {
	return math.Abs(got-want) <= math.Max(abs, rel*math.Abs(want))
}

// profileOf builds the one-feature profile of a vector's reference sample.
func profileOf(t *testing.T, v vector) *schemas.FeatureProfile {
	t.Helper()
	col := reference.Column{Name: "x", Kind: v.Kind}
	for _, x := range v.Reference {
		switch v.Kind {
		case schemas.KindNumeric:
			f, ok := x.(float64)
			if !ok {
				f = math.NaN()
			}
			col.Numbers = append(col.Numbers, f)
		default:
			s, _ := x.(string)
			col.Strings = append(col.Strings, s)
		}
	}
	p, err := reference.FromColumns("model", "1", []reference.Column{col})
	if err != nil {
		t.Fatal(err)
	}
	fp := &p.Features[0]
	if err := stats.ValidateProfile(fp); err != nil {
		t.Fatal(err)
	}
	return fp
}

func TestVectors(t *testing.T) {
	f := loadVectors(t)
	t.Logf("vectors from numpy %s, scipy %s", f.Numpy, f.Scipy)
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			fp := profileOf(t, v)
			s := stats.NewSketch(fp)
			for _, x := range v.Current {
				s.Add(x)
			}
			results := stats.Drift(fp, s)
			e := v.Expected
			if v.NoValues {
				checkNoValues(t, v, results)
				return
			}
			got := map[string]stats.Result{}
			verdicts := 0
			for _, r := range results {
				if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.PValue != nil && (math.IsNaN(*r.PValue) || math.IsInf(*r.PValue, 0)) {
					t.Errorf("%s: non-finite result %+v", r.Metric, r)
				}
				got[r.Metric] = r
				if r.Verdict {
					verdicts++
					if r.Metric != v.Expected.DefaultTest {
						t.Errorf("verdict from %s, want %s", r.Metric, v.Expected.DefaultTest)
					}
				}
			}
			if verdicts != 1 {
				t.Errorf("%d verdicts, want 1", verdicts)
			}
			if fp.Count != e.Count {
				t.Errorf("reference count %d, want %d", fp.Count, e.Count)
			}
			// PSI and Jensen–Shannon are exact on the shared cells.
			if r := got[stats.MetricPSI]; !close(r.Value, e.PSI, 1e-12, 1e-15) {
				t.Errorf("psi = %.17g, want %.17g", r.Value, e.PSI)
			}
			if r := got[stats.MetricJensenShannon]; !close(r.Value, e.JensenShannon, 1e-12, 1e-15) {
				t.Errorf("jensen_shannon = %.17g, want %.17g", r.Value, e.JensenShannon)
			}
			// So are Hellinger and KL (Evidently's formulas on those cells;
			// for categories the script checks Evidently's own functions).
			if r := got[stats.MetricHellinger]; !close(r.Value, e.Hellinger, 1e-12, 1e-15) {
				t.Errorf("hellinger = %.17g, want %.17g", r.Value, e.Hellinger)
			}
			if r := got[stats.MetricKL]; !close(r.Value, e.KL, 1e-12, 1e-15) {
				t.Errorf("kl_divergence = %.17g, want %.17g", r.Value, e.KL)
			}
			checkZ(t, e, got)
			checkQuality(t, e, got)
			if r, ok := got[stats.MetricChi2]; ok {
				if !close(r.Value, e.Chi2.Statistic, 1e-10, 1e-12) || !close(*r.PValue, e.Chi2.PValue, 1e-8, 1e-300) {
					t.Errorf("chi2 = %.17g (p %.17g), want %.17g (p %.17g)", r.Value, *r.PValue, e.Chi2.Statistic, e.Chi2.PValue)
				}
			} else if v.Kind == schemas.KindCategorical || e.DefaultTest == stats.MetricChi2 {
				t.Error("no chi2 result")
			}
			if v.Kind == schemas.KindNumeric {
				checkNumericVector(t, v, fp, s, got)
				checkQuantiles(t, v, fp, got)
			} else if r := got[stats.MetricUnseenShare]; !close(r.Value, e.UnseenShare, 1e-15, 0) {
				t.Errorf("unseen_share = %v, want %v", r.Value, e.UnseenShare)
			}
			checkVerdict(t, v, fp, s, got)
		})
	}
}

func checkNumericVector(t *testing.T, v vector, fp *schemas.FeatureProfile, s *stats.Sketch, got map[string]stats.Result) {
	e := v.Expected
	if !equalFloats(fp.BinEdges, e.BinEdges) || !equalFloats(fp.QuantileEdges, e.QuantileEdges) {
		t.Fatalf("edges differ from the script's:\n bins %v\n want %v\n quantiles %v\n want %v", fp.BinEdges, e.BinEdges, fp.QuantileEdges, e.QuantileEdges)
	}
	st := s.State()
	if !equalInts(fp.QuantileCounts, e.RefQuantileCounts) || !equalInts(st.QuantileCounts, e.CurQuantileCounts) {
		t.Fatalf("quantile counts differ:\n ref %v\n want %v\n cur %v\n want %v", fp.QuantileCounts, e.RefQuantileCounts, st.QuantileCounts, e.CurQuantileCounts)
	}
	if fp.UniqueCount != e.Unique || !close(fp.Mean, e.Mean, 1e-13, 1e-15) || !close(fp.Std, e.Std, 1e-12, 1e-15) {
		t.Errorf("unique %d mean %.17g std %.17g, want %d %.17g %.17g", fp.UniqueCount, fp.Mean, fp.Std, e.Unique, e.Mean, e.Std)
	}
	n, m := fp.Count, st.Count

	// KS: exact at the edges; scipy's D on the raw data lies between that
	// and the upper bound; the p-value between theirs.
	d, dUp := stats.KSBinned(fp.QuantileCounts, st.QuantileCounts, n, m)
	ks := got[stats.MetricKS]
	if ks.Value != d || !close(d, e.KSBinned, 0, 1e-15) {
		t.Errorf("ks_statistic = %.17g, binned %.17g, script's binned %.17g", ks.Value, d, e.KSBinned)
	}
	if e.KS.Statistic < d-1e-12 || e.KS.Statistic > dUp+1e-12 {
		t.Errorf("scipy D %.17g outside [%.17g, %.17g]", e.KS.Statistic, d, dUp)
	}
	if p := stats.KSPValue(e.KS.Statistic, n, m); !close(p, e.KS.PValue, 1e-9, 1e-300) {
		t.Errorf("p-value of scipy's D = %.17g, scipy %.17g", p, e.KS.PValue)
	}
	pLow := stats.KSPValue(dUp, n, m)
	if e.KS.PValue < pLow*(1-1e-9) || e.KS.PValue > *ks.PValue*(1+1e-9)+1e-300 {
		t.Errorf("scipy p %.17g outside [%.17g, %.17g]", e.KS.PValue, pLow, *ks.PValue)
	}
	if v.ExactKS && (!close(d, e.KS.Statistic, 0, 1e-12) || !close(*ks.PValue, e.KS.PValue, 1e-9, 1e-300)) {
		t.Errorf("exact case: D %.17g p %.17g, scipy %.17g p %.17g", d, *ks.PValue, e.KS.Statistic, e.KS.PValue)
	}
	t.Logf("ks: D %.5f in [%.5f, %.5f], scipy %.5f; p %.4g, scipy %.4g", d, d, dUp, e.KS.Statistic, *ks.PValue, e.KS.PValue)

	// Wasserstein: scipy's value on the raw data lies within the bounds
	// (the mean difference raises the lower one); so does the estimate.
	w := got[stats.MetricWasserstein].Value
	lo, hi := math.Min(fp.Min, st.Min), math.Max(fp.Max, st.Max)
	_, lower, upper := stats.WassersteinBinned(fp.QuantileEdges, fp.QuantileCounts, st.QuantileCounts, n, m, lo, hi, stats.PointMassProfile(fp))
	lower = math.Max(lower, math.Abs(fp.Mean-st.Sum/float64(m)))
	tol := 1e-9 * (hi - lo)
	if e.Wasserstein < lower-tol || e.Wasserstein > upper+tol {
		t.Errorf("scipy W1 %.17g outside [%.17g, %.17g]", e.Wasserstein, lower, upper)
	}
	if w < lower-tol || w > upper+tol {
		t.Errorf("W1 %.17g outside its bounds [%.17g, %.17g]", w, lower, upper)
	}
	if v.ExactWasserstein && !close(w, e.Wasserstein, 1e-9, 1e-12) {
		t.Errorf("exact case: W1 %.17g, scipy %.17g", w, e.Wasserstein)
	}
	wn := got[stats.MetricWassersteinNormed].Value
	if norm := math.Max(fp.Std, 0.001); !close(wn, w/norm, 1e-15, 0) || !close(e.WassersteinNormed*math.Max(e.Std, 0.001)/norm, e.Wasserstein/norm, 1e-12, 0) {
		t.Errorf("wasserstein_normed %.17g for W1 %.17g and std %.17g", wn, w, fp.Std)
	}
	t.Logf("wasserstein: %.6g in [%.6g, %.6g], scipy %.6g (error %.2g%%)", w, lower, upper, e.Wasserstein, 100*math.Abs(w-e.Wasserstein)/e.Wasserstein)
}

// checkVerdict checks the verdict's Detected where the binning cannot
// change it: scipy's value and every value within the stated error fall on
// the same side of the threshold.
func checkVerdict(t *testing.T, v vector, fp *schemas.FeatureProfile, s *stats.Sketch, got map[string]stats.Result) {
	e := v.Expected
	r := got[e.DefaultTest]
	decidable := true
	switch e.DefaultTest {
	case stats.MetricKS:
		st := s.State()
		_, dUp := stats.KSBinned(fp.QuantileCounts, st.QuantileCounts, fp.Count, st.Count)
		decidable = (stats.KSPValue(dUp, fp.Count, st.Count) < 0.05) == (*r.PValue < 0.05)
	case stats.MetricWassersteinNormed:
		st := s.State()
		lo, hi := math.Min(fp.Min, st.Min), math.Max(fp.Max, st.Max)
		_, lower, upper := stats.WassersteinBinned(fp.QuantileEdges, fp.QuantileCounts, st.QuantileCounts, fp.Count, st.Count, lo, hi, stats.PointMassProfile(fp))
		norm := math.Max(fp.Std, 0.001)
		decidable = (lower/norm >= 0.1) == (upper/norm >= 0.1)
	}
	if !decidable {
		t.Logf("verdict within the binning error of its threshold; not checked")
		return
	}
	if r.Detected != e.Detected {
		t.Errorf("%s detected = %v, want %v", e.DefaultTest, r.Detected, e.Detected)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The special functions behind the p-values, against scipy over all their
// branches (exact matrix, Pomeranz, Pelz–Good, Smirnov's sum, asymptotics).
func TestKolmogorovSFMatchesScipy(t *testing.T) {
	f := loadVectors(t)
	worst := 0.0
	for _, row := range f.KSTwo {
		n, d, want := int(row[0]), row[1], row[2]
		got := stats.KolmogorovSF(n, d)
		err := math.Abs(got-want) / math.Max(want, 1e-300)
		if want == 0 {
			err = got
		}
		worst = math.Max(worst, err)
		if !close(got, want, 1e-9, 1e-300) {
			t.Errorf("kstwo.sf(%v, %d) = %.17g, scipy %.17g", d, n, got, want)
		}
	}
	t.Logf("%d points, worst relative error %.2g", len(f.KSTwo), worst)
}

func TestChi2SFMatchesScipy(t *testing.T) {
	f := loadVectors(t)
	worst := 0.0
	for _, row := range f.Chi2 {
		df, x, want := row[0], row[1], row[2]
		got := stats.Chi2SF(df, x)
		if want > 0 {
			worst = math.Max(worst, math.Abs(got-want)/want)
		}
		if !close(got, want, 1e-9, 1e-300) {
			t.Errorf("chi2.sf(%v, %v) = %.17g, scipy %.17g", x, df, got, want)
		}
	}
	t.Logf("%d points, worst relative error %.2g", len(f.Chi2), worst)
}

// checkZ checks the Z-test against Evidently's (the script runs Evidently's
// own function whenever it would choose the Z-test itself): the statistic
// to 1e-12, the p-value to Evidently's 2·(1 − Φ(|z|)) within its rounding
// (absolute 1e-15) and to the exact tail 2·norm.sf(|z|) to 1e-9 relative.
func checkZ(t *testing.T, e expected, got map[string]stats.Result) {
	t.Helper()
	r, ok := got[stats.MetricZ]
	if ok != (e.Z != nil) {
		t.Fatalf("z_test reported %v, expected %v", ok, e.Z != nil)
	}
	if !ok {
		return
	}
	if !close(r.Value, e.Z.Statistic, 1e-12, 1e-15) || !close(*r.PValue, e.Z.PValue, 0, 1e-15) ||
		!close(*r.PValue, *e.Z.PValueExact, 1e-9, 1e-300) {
		t.Errorf("z_test = %.17g (p %.17g), want %.17g (p %.17g, exact %.17g)", r.Value, *r.PValue, e.Z.Statistic, e.Z.PValue, *e.Z.PValueExact)
	}
}

// checkQuality checks the quality metrics, all exact.
func checkQuality(t *testing.T, e expected, got map[string]stats.Result) {
	t.Helper()
	for _, c := range []struct {
		metric string
		want   float64
	}{
		{stats.MetricMissingShare, e.MissingShare},
		{stats.MetricTypeMismatchShare, e.TypeMismatchShare},
		{stats.MetricTypeMismatches, e.TypeMismatches},
	} {
		if r, ok := got[c.metric]; !ok || !close(r.Value, c.want, 1e-15, 0) {
			t.Errorf("%s = %v (reported %v), want %v", c.metric, r.Value, ok, c.want)
		}
	}
	if e.OutOfRangeShare != nil {
		if r, ok := got[stats.MetricOutOfRangeShare]; !ok || !close(r.Value, *e.OutOfRangeShare, 1e-15, 0) {
			t.Errorf("out_of_range_share = %v (reported %v), want %v", r.Value, ok, *e.OutOfRangeShare)
		}
	}
	if r := got[stats.MetricConstant]; r.Value != e.Constant {
		t.Errorf("constant = %v, want %v", r.Value, e.Constant)
	}
}

// checkNoValues: a window without usable values gets the quality metrics
// that need no values, and nothing else.
func checkNoValues(t *testing.T, v vector, results []stats.Result) {
	t.Helper()
	got := map[string]stats.Result{}
	for _, r := range results {
		if !stats.QualityMetric(r.Metric) || r.Verdict {
			t.Errorf("%s reported for a window without values", r.Metric)
		}
		got[r.Metric] = r
	}
	checkQuality(t, v.Expected, got)
}

// checkQuantiles checks p50, p95 and p99 against numpy within
// stats.QuantileAccuracy: between percentile(method="lower") and
// percentile(method="higher"), each widened by 1% of its magnitude. The
// same values must come out of a sketch merged from three parts that went
// through State and FromState, as level 2 sees them.
func checkQuantiles(t *testing.T, v vector, fp *schemas.FeatureProfile, got map[string]stats.Result) {
	t.Helper()
	if len(v.Expected.Quantiles) != 3 {
		t.Fatalf("%d expected quantiles", len(v.Expected.Quantiles))
	}
	merged := stats.NewSketch(fp)
	for part := 0; part < 3; part++ {
		s := stats.NewSketch(fp)
		for i := part; i < len(v.Current); i += 3 {
			s.Add(v.Current[i])
		}
		back, err := stats.FromState(fp, s.State())
		if err != nil {
			t.Fatal(err)
		}
		if err := merged.Merge(back); err != nil {
			t.Fatal(err)
		}
	}
	const a = stats.QuantileAccuracy
	for _, c := range []struct {
		metric, level string
		q             float64
	}{{stats.MetricP50, "0.5", 0.5}, {stats.MetricP95, "0.95", 0.95}, {stats.MetricP99, "0.99", 0.99}} {
		want := v.Expected.Quantiles[c.level]
		r, ok := got[c.metric]
		if !ok {
			t.Errorf("no %s", c.metric)
			continue
		}
		lo, hi := want.Lower-a*math.Abs(want.Lower), want.Higher+a*math.Abs(want.Higher)
		if r.Value < lo || r.Value > hi {
			t.Errorf("%s = %.17g outside [%.17g, %.17g] (numpy lower %v, linear %v, higher %v)", c.metric, r.Value, lo, hi, want.Lower, want.Linear, want.Higher)
		}
		if m, ok := merged.Quantile(c.q); !ok || m != r.Value {
			t.Errorf("%s of the merged parts %v (ok %v), of the whole %v", c.metric, m, ok, r.Value)
		}
		t.Logf("%s: %.6g, numpy %.6g (relative difference %.2g%%)", c.metric, r.Value, want.Linear, 100*math.Abs(r.Value-want.Linear)/math.Max(math.Abs(want.Linear), 1e-300))
	}
}
