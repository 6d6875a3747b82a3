package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"unicode/utf8"

	"github.com/driftline/driftline/schemas"
)

// Metric names, as they appear in MetricWindow.Metric. Each statistic
// computed from binned counts states here what the binning costs.
const (
	// MetricPSI is the population stability index Σ (r−c)·ln(r/c) over
	// shares in cells, with Evidently's epsilon for empty cells: 0.0001, or
	// a millionth of the smallest non-zero share when that is <= 0.0001.
	// Numeric cells are the reference's ten decile bins, open at both ends;
	// a reference with at most ten distinct values has one cell per value
	// instead, plus one below and one above its range when current values
	// fall there (they are new values, like unseen categories).
	// Categorical cells are the categories of either side. The PSI is exact
	// on those cells; for continuous features it differs from Evidently's,
	// which re-bins every window into Sturges bins over both samples.
	MetricPSI = "psi"
	// MetricKS is the two-sample Kolmogorov–Smirnov distance D, evaluated
	// at the profile's quantile edges (reference min, percentiles 1..99, just
	// above the reference max; or every value when the reference has at
	// most 100), where both CDFs are exact. It can understate the true D by
	// at most the largest share either sample has in a single quantile bin
	// (about 1% for the reference; for a current piled up in one bin, that
	// bin's share), and is exact when the reference has at most 100
	// distinct values and every current value inside the reference range
	// is one of them. PValue is the two-sided p-value of scipy's
	// ks_2samp(method="asymp") for that D (the exact distribution of the
	// one-sample statistic at the effective size round(n·m/(n+m)), matched
	// to 1e-11); since it decreases with D, binning can only overstate it.
	MetricKS = "ks_statistic"
	// MetricWasserstein is the Wasserstein-1 distance ∫|F_ref − F_cur| dx
	// in the feature's units, from the two CDFs at the quantile edges with
	// each bin's mass spread evenly across it (the outer bins closed by the
	// smaller min and the larger max of the two samples), and never less
	// than |mean_ref − mean_cur|, which bounds W1 from below. Inside a bin
	// each CDF lies between its values at the bin's edges; that bounds W1,
	// and the estimate lies within the same bounds, so its error is at most
	// their gap, Σ_i w_i·(r_i + c_i) (w_i the bin's width, r_i and c_i the
	// two samples' shares in it): small where bins are narrow, large for a
	// current far outside the reference range, where the mean bound takes
	// over. It is exact when the reference has at most 100 distinct values
	// and the current takes only those values.
	MetricWasserstein = "wasserstein"
	// MetricWassersteinNormed is MetricWasserstein divided by the
	// reference's population standard deviation (at least 0.001), as
	// Evidently's default test for large references: np.std, ddof=0. Its
	// error is MetricWasserstein's, divided the same way.
	MetricWassersteinNormed = "wasserstein_normed"
	// MetricJensenShannon is scipy's Jensen–Shannon distance (natural
	// logarithm, so between 0 and sqrt(ln 2) ≈ 0.833) over MetricPSI's
	// cells, without epsilon; exact on those cells.
	MetricJensenShannon = "jensen_shannon"
	// MetricChi2 is Pearson's chi-square goodness-of-fit statistic of the
	// current counts against the reference shares (scipy.stats.chisquare,
	// as Evidently's chisquare test), with its p-value. Current categories
	// the reference never saw get the PSI epsilon as expected share (scipy
	// would return an infinite statistic), so the statistic is very large
	// and the p-value ~0. Numeric features get it only where it is the
	// default test (at most five distinct reference values), over
	// MetricPSI's cells, which are then one per value. A single cell (both
	// samples one and the same value) has no degrees of freedom: statistic
	// 0, p-value 1.
	MetricChi2 = "chi2"
	// MetricHellinger is the Hellinger distance sqrt(1 − Σ sqrt(r·c)) over
	// MetricPSI's cells and shares, without epsilon (Evidently's formula for
	// categories), between 0 and 1; exact on those cells. For continuous
	// features Evidently uses density histograms over Sturges bins of both
	// samples instead, so the values differ as PSI's do.
	MetricHellinger = "hellinger"
	// MetricKL is the Kullback–Leibler divergence D(ref ‖ cur) in nats,
	// scipy.stats.entropy(ref, cur) over MetricPSI's cells with the same
	// epsilon for empty cells (Evidently's kl_div test fills zeros that
	// way); exact on those cells. It is not symmetric and not bounded: an
	// empty current cell the reference fills costs about ln(1/ε) times the
	// reference's share there.
	MetricKL = "kl_divergence"
	// MetricZ is Evidently's two-proportion Z-test for a feature whose
	// reference has at most two distinct values: the share of values other
	// than the reference's first (smallest) value, pooled proportion,
	// two-sided p-value (PValue; Value is the z statistic). It is the
	// default test of such features on small references. For a numeric
	// feature a current value counts as the first value when it lies in
	// [first, second reference value), the sketch's resolution there; this
	// is exact when current values are reference values. Evidently takes
	// the smallest value of both samples as the first, which is the same
	// whenever Evidently itself would choose the Z-test (at most two values
	// in both samples together).
	MetricZ = "z_test"
	// MetricUnseenShare is the share of current values outside the
	// reference's categories. When the reference pooled rare categories
	// under OtherCategory, values outside its kept categories count as
	// unseen, so the share is an upper bound.
	MetricUnseenShare = "unseen_share"
	// MetricMissingShare is Missing / (Count + Missing + TypeMismatches).
	MetricMissingShare = "missing_share"
	// MetricTypeMismatchShare is TypeMismatches / (Count + Missing +
	// TypeMismatches): values of the wrong kind, e.g. a string in a numeric
	// feature (see Sketch.Add). Exact.
	MetricTypeMismatchShare = "type_mismatch_share"
	// MetricTypeMismatches is the number of such values. Exact.
	MetricTypeMismatches = "type_mismatches"
	// MetricOutOfRangeShare is the share of a numeric window's non-missing
	// values below the reference's minimum or above its maximum. Exact:
	// the profile's first quantile edge is the minimum and its last one the
	// next float above the maximum.
	MetricOutOfRangeShare = "out_of_range_share"
	// MetricConstant is 1 when the window holds at least two values and
	// they are all the same (numeric: min == max; categorical: one
	// category), else 0. Detected when it is 1 while the reference has
	// more than one distinct value: a feature stuck at one value, e.g. a
	// default filled in by a broken upstream join. A single value is not
	// called constant.
	MetricConstant = "constant"
)

// QualityMetric reports whether a metric describes the data's quality
// (family "quality") rather than its drift from the reference.
func QualityMetric(metric string) bool {
	switch metric {
	case MetricMissingShare, MetricTypeMismatchShare, MetricTypeMismatches, MetricOutOfRangeShare, MetricConstant:
		return true
	}
	return false
}

// Default thresholds, as Evidently's.
const (
	PSIThreshold               = 0.1
	PValueThreshold            = 0.05 // KS, chi-square and Z: drift when p < 0.05
	WassersteinNormedThreshold = 0.1
	JensenShannonThreshold     = 0.1
	HellingerThreshold         = 0.1
	KLThreshold                = 0.1
	// DatasetDriftThreshold is the share of drifted features at which a
	// dataset drifts.
	DatasetDriftThreshold = 0.5
	// SmallReference is the largest reference, in non-missing rows, that
	// gets a statistical test by default; larger ones get a distance, as a
	// test on many rows flags differences too small to matter.
	SmallReference = 1000
	// lowCardinality is the most distinct reference values for which a
	// numeric feature is tested like a categorical one.
	lowCardinality = 5
	// binary is the most distinct reference values the Z-test takes.
	binary = 2
	// minStd keeps the normed Wasserstein finite for constant references.
	minStd = 0.001
)

// Result is one statistic of one feature in one window.
type Result struct {
	Metric    string
	Value     float64
	Threshold *float64 // nil for statistics without a default threshold
	PValue    *float64 // for tests; Threshold then applies to the p-value
	Detected  bool     // the statistic crossed its threshold
	// Verdict marks the result of the test that decides whether the
	// feature drifted (DefaultTest, or the Test given to DriftTest); its
	// Threshold and Detected are that test's.
	Verdict bool
}

// DefaultTest returns the test that decides whether a feature drifted, and
// its threshold, by Evidently's rules: a reference of at most
// SmallReference rows gets the KS test (p < 0.05) for numeric features with
// more than five distinct values, the Z-test (p < 0.05) for features with
// at most two, and the chi-square test (p < 0.05) otherwise; a larger
// reference gets the normed Wasserstein distance (>= 0.1) for numeric
// features with more than five distinct values and the Jensen–Shannon
// distance (>= 0.1) otherwise.
//
// One deviation: Evidently counts distinct values over reference and
// current together; here only the reference's count, so the chosen test
// does not flip between windows.
//
// referenceRows is the reference's non-missing row count (Evidently drops
// missing values before choosing).
func DefaultTest(p *schemas.FeatureProfile, referenceRows int64) (metric string, threshold float64) {
	manyValues := p.Kind == schemas.KindNumeric && p.UniqueCount > lowCardinality
	switch {
	case referenceRows <= SmallReference && manyValues:
		return MetricKS, PValueThreshold
	case referenceRows <= SmallReference && p.UniqueCount <= binary:
		return MetricZ, PValueThreshold
	case referenceRows <= SmallReference:
		return MetricChi2, PValueThreshold
	case manyValues:
		return MetricWassersteinNormed, WassersteinNormedThreshold
	default:
		return MetricJensenShannon, JensenShannonThreshold
	}
}

// Test names the statistic that decides whether a feature drifted, to
// override DefaultTest, and its threshold: for tests with a p-value (KS,
// chi-square, Z) drift is p < Threshold, for distances value >= Threshold.
// A zero Threshold takes the statistic's default (Tests).
type Test struct {
	Metric    string
	Threshold float64
}

// testRule says how a statistic decides drift and where it applies.
type testRule struct {
	pValue      bool
	threshold   float64
	numericOnly bool
	binaryOnly  bool
}

var testRules = map[string]testRule{
	MetricKS:                {pValue: true, threshold: PValueThreshold, numericOnly: true},
	MetricChi2:              {pValue: true, threshold: PValueThreshold},
	MetricZ:                 {pValue: true, threshold: PValueThreshold, binaryOnly: true},
	MetricPSI:               {threshold: PSIThreshold},
	MetricWassersteinNormed: {threshold: WassersteinNormedThreshold, numericOnly: true},
	MetricJensenShannon:     {threshold: JensenShannonThreshold},
	MetricHellinger:         {threshold: HellingerThreshold},
	MetricKL:                {threshold: KLThreshold},
}

// Tests returns the statistics that can decide drift, with their default
// thresholds.
func Tests() map[string]float64 {
	out := make(map[string]float64, len(testRules))
	for m, r := range testRules {
		out[m] = r.threshold
	}
	return out
}

// CheckTest returns t with its threshold filled in, or an error when t
// cannot decide drift for the feature p describes: an unknown statistic, a
// numeric-only one (KS, normed Wasserstein) on a categorical feature, the
// Z-test on a reference with more than two distinct values, or a negative
// or non-finite threshold (a p-value threshold must lie in (0, 1]).
func CheckTest(p *schemas.FeatureProfile, t Test) (Test, error) {
	r, ok := testRules[t.Metric]
	if !ok {
		return t, fmt.Errorf("stats: %q is not a drift test", t.Metric)
	}
	switch {
	case !finite(t.Threshold) || t.Threshold < 0 || r.pValue && t.Threshold > 1:
		return t, fmt.Errorf("stats: threshold %v out of range for %s", t.Threshold, t.Metric)
	case r.numericOnly && p.Kind != schemas.KindNumeric:
		return t, fmt.Errorf("stats: %s applies to numeric features only, %q is %s", t.Metric, p.Name, p.Kind)
	case r.binaryOnly && p.UniqueCount > binary:
		return t, fmt.Errorf("stats: %s applies to features with at most %d distinct values, %q has %d", t.Metric, binary, p.Name, p.UniqueCount)
	}
	if t.Threshold == 0 {
		t.Threshold = r.threshold
	}
	return t, nil
}

// Drift compares a window's sketch with the feature's reference profile,
// with DefaultTest deciding drift. See DriftTest.
func Drift(p *schemas.FeatureProfile, s *Sketch) []Result {
	out, _ := DriftTest(p, s, Test{})
	return out
}

// DriftTest compares a window's sketch with the feature's reference
// profile, with t deciding drift (the zero Test: DefaultTest); it fails
// only when CheckTest rejects t. It returns every drift statistic that
// applies to the feature's kind, then the quality metrics. When either side
// has no values it returns only the quality metrics that need no reference
// (missing and type-mismatch share and count; none for an empty window). It
// never returns NaN or infinities. s must be bound to p (or an equal
// profile), and p should have passed ValidateProfile: otherwise only those
// quality metrics are returned.
func DriftTest(p *schemas.FeatureProfile, s *Sketch, t Test) ([]Result, error) {
	if p == nil || s == nil {
		return nil, nil
	}
	defaulted := t.Metric == ""
	if defaulted {
		t.Metric, t.Threshold = DefaultTest(p, p.Count)
	}
	t, err := CheckTest(p, t)
	if err != nil {
		return nil, err
	}
	if defaulted && t.Metric == MetricZ && s.count > 0 && s.beyondBinary(p) {
		// Evidently counts distinct values over both samples: values the
		// binary reference never had may make three, and chi-square. The
		// Z-test would pool them with one of the two and miss them.
		t = Test{Metric: MetricChi2, Threshold: PValueThreshold}
	}
	var out []Result
	total := s.count + s.missing + s.mismatches
	if total == 0 {
		return nil, nil
	}
	quality := []Result{
		{Metric: MetricMissingShare, Value: float64(s.missing) / float64(total)},
		{Metric: MetricTypeMismatchShare, Value: float64(s.mismatches) / float64(total)},
		{Metric: MetricTypeMismatches, Value: float64(s.mismatches)},
	}
	if s.count == 0 || p.Count <= 0 || !sameProfile(p, s.p) || ValidateProfile(p) != nil {
		return quality, nil
	}
	switch s.kind {
	case kindNumeric:
		out = numericDrift(p, s, t.Metric)
	case kindCategorical:
		out = categoricalDrift(p, s, t.Metric)
	}
	out = append(out, quality...)
	out = append(out, s.rangeQuality(p)...)
	out = append(out, s.quantileResults()...)

	// Keep the promise of finite output. Distances over values spanning the
	// float range can overflow; they are reported as MaxFloat64, "at least
	// this". Every formula is NaN-free by construction, so the NaN check
	// only drops a result if one of them has a bug.
	kept := out[:0]
	for _, r := range out {
		if math.IsInf(r.Value, 0) {
			r.Value = math.Copysign(math.MaxFloat64, r.Value)
		}
		if !finite(r.Value) || r.PValue != nil && !finite(*r.PValue) {
			continue
		}
		if r.Metric == t.Metric {
			r.Verdict = true
			th := t.Threshold
			r.Threshold = &th
			if r.PValue != nil {
				r.Detected = *r.PValue < th
			} else {
				r.Detected = r.Value >= th
			}
		}
		kept = append(kept, r)
	}
	return kept, nil
}

// rangeQuality returns the quality metrics that compare the window with
// the reference's range and cardinality: out_of_range_share (numeric) and
// constant.
func (s *Sketch) rangeQuality(p *schemas.FeatureProfile) []Result {
	var out []Result
	constant := false
	switch s.kind {
	case kindNumeric:
		constant = s.count >= 2 && s.min == s.max
		last := len(p.QuantileEdges) - 1
		if last >= 0 && p.QuantileEdges[0] == p.Min {
			outside := s.qbins[0]
			if p.QuantileEdges[last] > p.Max {
				outside += s.qbins[last+1]
			}
			out = append(out, Result{Metric: MetricOutOfRangeShare, Value: float64(outside) / float64(s.count)})
		}
	case kindCategorical:
		kinds := 0
		for _, c := range s.cats {
			if c > 0 {
				kinds++
			}
		}
		constant = s.count >= 2 && kinds == 1 && s.other == 0
	}
	r := Result{Metric: MetricConstant}
	if constant {
		r.Value = 1
		r.Detected = p.UniqueCount > 1
	}
	return append(out, r)
}

func numericDrift(p *schemas.FeatureProfile, s *Sketch, verdict string) []Result {
	n, m := p.Count, s.count
	rc, cc := numericCells(p, s)
	rb, cb := shares(rc, n), shares(cc, m)

	d, _ := ksBinned(p.QuantileCounts, s.qbins, n, m)
	pv := ksPValue(d, n, m)

	lo, hi := math.Min(p.Min, s.min), math.Max(p.Max, s.max)
	w, _, _ := wassersteinBinned(p.QuantileEdges, p.QuantileCounts, s.qbins, n, m, lo, hi, pointMassProfile(p))
	// W1 >= |difference of the means|; binning can only lose to this bound
	// (e.g. a shift beyond the reference range), so take it when larger. A
	// saturated sum gives no mean.
	if math.Abs(s.sum) < math.MaxFloat64 {
		w = math.Max(w, math.Abs(p.Mean-s.sum/float64(m)))
	}
	wn := w / math.Max(p.Std, minStd)

	out := []Result{
		above(MetricPSI, psi(rb, cb), PSIThreshold),
		test(MetricKS, d, pv),
		{Metric: MetricWasserstein, Value: w},
		above(MetricWassersteinNormed, wn, WassersteinNormedThreshold),
		above(MetricJensenShannon, jensenShannon(rb, cb), JensenShannonThreshold),
		above(MetricHellinger, hellinger(rb, cb), HellingerThreshold),
		above(MetricKL, klDivergence(rb, cb), KLThreshold),
	}
	if p.UniqueCount <= lowCardinality || verdict == MetricChi2 {
		stat, pc := chiSquare(cc, rb)
		out = append(out, test(MetricChi2, stat, pc))
	}
	// The Z-test's first value is the reference minimum, the first
	// quantile edge; with at most two distinct values the first quantile
	// bin, [min, next value), holds only it in the reference.
	if p.UniqueCount <= binary && len(p.QuantileEdges) > 0 && p.QuantileEdges[0] == p.Min {
		z, pz := zTest(p.QuantileCounts[1], n, s.qbins[1], m)
		out = append(out, test(MetricZ, z, pz))
	}
	return out
}

// numericCells returns the reference and current counts in the cells PSI,
// Jensen–Shannon and chi-square use for a numeric feature: the PSI bins.
// When those are one per reference value (at most ten distinct values),
// the values are like categories, as Evidently treats them: the first and
// last quantile bins, below the reference minimum and above its maximum,
// become cells of their own, which is what lets a constant or binary
// reference see current values outside it, and cells empty on both sides
// are left out; a current value between two reference values counts with
// the lower one. (For a continuous reference, those outer cells would turn
// every current value beyond a small reference's extremes into a large,
// epsilon-driven PSI term.) The cells are sums of quantile bins, as every
// BinEdge is a QuantileEdge.
func numericCells(p *schemas.FeatureProfile, s *Sketch) (ref, cur []int64) {
	if s.binOfQ == nil || int64(len(p.BinCounts)) != p.UniqueCount {
		return p.BinCounts, s.bins
	}
	k := len(p.BinCounts)
	r, c := make([]int64, k+2), make([]int64, k+2)
	last := len(s.qbins) - 1
	for q := range s.qbins {
		cell := 1 + s.binOfQ[q]
		if q == 0 {
			cell = 0
		} else if q == last {
			cell = k + 1
		}
		r[cell] += p.QuantileCounts[q]
		c[cell] += s.qbins[q]
	}
	for i := range r {
		if r[i] != 0 || c[i] != 0 {
			ref = append(ref, r[i])
			cur = append(cur, c[i])
		}
	}
	return ref, cur
}

// pointMassProfile reports whether every quantile bin the reference
// occupies holds one distinct reference value, which then sits on the
// bin's left edge (reference builds edges from reference values).
func pointMassProfile(p *schemas.FeatureProfile) bool {
	var occupied int64
	for _, c := range p.QuantileCounts {
		if c > 0 {
			occupied++
		}
	}
	return occupied == p.UniqueCount
}

func categoricalDrift(p *schemas.FeatureProfile, s *Sketch, verdict string) []Result {
	n, m := p.Count, s.count
	refOther := p.Categories[OtherCategory]

	// Cells: the reference's categories, then (unless the reference pooled
	// its rare ones, which then absorb them) each current category it never
	// saw, then the sketch's own overflow as one pooled unseen cell.
	named := make([]string, 0, len(p.Categories))
	for k := range p.Categories {
		if k != OtherCategory {
			named = append(named, k)
		}
	}
	sort.Strings(named)
	var extra []string
	var outside int64 // current values outside the named reference categories
	for k, c := range s.cats {
		if _, ok := p.Categories[k]; !ok || k == OtherCategory {
			outside += c
			if refOther == 0 {
				extra = append(extra, k)
			}
		}
	}
	sort.Strings(extra)
	outside += s.other

	var ref, cur []int64
	for _, k := range named {
		ref = append(ref, p.Categories[k])
		cur = append(cur, s.cats[k])
	}
	if refOther > 0 {
		ref = append(ref, refOther)
		cur = append(cur, outside)
	} else {
		for _, k := range extra {
			ref = append(ref, 0)
			cur = append(cur, s.cats[k])
		}
		if s.other > 0 {
			ref = append(ref, 0)
			cur = append(cur, s.other)
		}
	}
	rs, cs := shares(ref, n), shares(cur, m)
	stat, pc := chiSquare(cur, rs)
	out := []Result{
		above(MetricPSI, psi(rs, cs), PSIThreshold),
		test(MetricChi2, stat, pc),
		above(MetricJensenShannon, jensenShannon(rs, cs), JensenShannonThreshold),
		above(MetricHellinger, hellinger(rs, cs), HellingerThreshold),
		above(MetricKL, klDivergence(rs, cs), KLThreshold),
		{Metric: MetricUnseenShare, Value: float64(outside) / float64(m)},
	}
	if p.UniqueCount <= binary {
		// The first value is the smallest reference category; with at most
		// two distinct values the reference pooled nothing, so each is
		// counted under its own name on both sides.
		first := ""
		for k := range p.Categories {
			if first == "" || k < first {
				first = k
			}
		}
		z, pz := zTest(p.Categories[first], n, s.cats[first], m)
		out = append(out, test(MetricZ, z, pz))
	}
	return out
}

// beyondBinary reports whether the reference's values and the window's
// new ones are more than two, as Evidently counts distinct values over
// both samples. Numeric new values are counted by where they fall: below
// the reference, above it, or between its two values (which share the
// first value's bin; the exact sum gives them away), at least one each.
func (s *Sketch) beyondBinary(p *schemas.FeatureProfile) bool {
	var fresh int64
	switch s.kind {
	case kindCategorical:
		if s.other > 0 {
			fresh++
		}
		for k := range s.cats {
			if _, ok := p.Categories[k]; !ok || k == OtherCategory {
				fresh++
			}
		}
	case kindNumeric:
		e, q := p.QuantileEdges, s.qbins
		if len(e) < 2 || len(q) != len(e)+1 {
			return false
		}
		if q[0] > 0 {
			fresh++
		}
		if q[len(q)-1] > 0 {
			fresh++
		}
		var inside float64
		for i := 0; i+1 < len(e); i++ {
			inside += float64(q[i+1]) * e[i]
		}
		// With values below or above, their sum is unknown: between goes
		// unseen then, which can only keep the Z-test.
		if q[0] == 0 && q[len(q)-1] == 0 && math.Abs(s.sum-inside) > 1e-9*math.Max(math.Abs(inside), 1) {
			fresh++
		}
	}
	return p.UniqueCount+fresh > binary
}

// above is a distance that drifts at or above its threshold.
func above(metric string, v, threshold float64) Result {
	return Result{Metric: metric, Value: v, Threshold: &threshold, Detected: v >= threshold}
}

// test is a statistic whose p-value drifts below PValueThreshold.
func test(metric string, v, p float64) Result {
	th := PValueThreshold
	return Result{Metric: metric, Value: v, Threshold: &th, PValue: &p, Detected: p < th}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// DatasetDrift returns the share of drifted features among the verdicts
// and whether it reaches threshold (DatasetDriftThreshold, 0.5, when
// threshold is not in (0, 1]). No verdicts is no drift.
func DatasetDrift(verdicts []bool, threshold float64) (share float64, detected bool) {
	if !(threshold > 0 && threshold <= 1) {
		threshold = DatasetDriftThreshold
	}
	if len(verdicts) == 0 {
		return 0, false
	}
	drifted := 0
	for _, v := range verdicts {
		if v {
			drifted++
		}
	}
	share = float64(drifted) / float64(len(verdicts))
	return share, share >= threshold
}

// Limits on profiles, so that a hostile or corrupt profile cannot make
// every sketch of it huge.
const (
	maxEdges             = 1024
	maxProfileCategories = MaxCategories + 1 // plus OtherCategory
)

// ValidateProfile checks that a feature profile is one Sketch and Drift can
// use: a known kind, finite ascending edges with matching counts that add
// up to Count, finite summary values. Consumers of the references topic
// should call it before binding sketches to a profile.
func ValidateProfile(p *schemas.FeatureProfile) error {
	if p == nil {
		return errors.New("stats: nil profile")
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("stats: profile of feature %q: %s", p.Name, fmt.Sprintf(format, args...))
	}
	if p.Name == "" {
		return errors.New("stats: profile has no feature name")
	}
	if p.Count < 0 || p.Missing < 0 || p.UniqueCount < 0 || p.UniqueCount > p.Count {
		return bad("inconsistent counts")
	}
	for _, x := range []float64{p.Min, p.Max, p.Mean, p.Std} {
		if !finite(x) {
			return bad("non-finite summary value")
		}
	}
	switch p.Kind {
	case schemas.KindNumeric:
		if len(p.Categories) != 0 {
			return bad("numeric profile has categories")
		}
		for _, e := range [][]float64{p.BinEdges, p.QuantileEdges} {
			if len(e) > maxEdges {
				return bad("more than %d edges", maxEdges)
			}
			for i, x := range e {
				if !finite(x) || i > 0 && !(x > e[i-1]) {
					return bad("edges are not finite and strictly ascending")
				}
			}
		}
		if len(p.BinCounts) != len(p.BinEdges)+1 || len(p.QuantileCounts) != len(p.QuantileEdges)+1 {
			return bad("%d bin counts for %d edges, %d quantile counts for %d edges",
				len(p.BinCounts), len(p.BinEdges), len(p.QuantileCounts), len(p.QuantileEdges))
		}
		if err := checkCounts(p.BinCounts, p.Count); err != nil {
			return bad("bin counts: %v", err)
		}
		if err := checkCounts(p.QuantileCounts, p.Count); err != nil {
			return bad("quantile counts: %v", err)
		}
		if p.Count > 0 && (p.Min > p.Max || p.Std < 0 || p.UniqueCount < 1) {
			return bad("inconsistent summary values")
		}
	case schemas.KindCategorical:
		if len(p.BinEdges)+len(p.BinCounts)+len(p.QuantileEdges)+len(p.QuantileCounts) != 0 {
			return bad("categorical profile has bins")
		}
		if len(p.Categories) > maxProfileCategories {
			return bad("%d categories, at most %d", len(p.Categories), maxProfileCategories)
		}
		counts := make([]int64, 0, len(p.Categories))
		for k, c := range p.Categories {
			if k == "" || !utf8.ValidString(k) {
				return bad("empty or invalid UTF-8 category")
			}
			counts = append(counts, c)
		}
		if err := checkCounts(counts, p.Count); err != nil {
			return bad("categories: %v", err)
		}
	default:
		return bad("unknown kind %q", p.Kind)
	}
	return nil
}
