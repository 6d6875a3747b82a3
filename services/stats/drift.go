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
	// MetricUnseenShare is the share of current values outside the
	// reference's categories. When the reference pooled rare categories
	// under OtherCategory, values outside its kept categories count as
	// unseen, so the share is an upper bound.
	MetricUnseenShare = "unseen_share"
	// MetricMissingShare is Missing / (Count + Missing + TypeMismatches).
	MetricMissingShare = "missing_share"
)

// Default thresholds, as Evidently's.
const (
	PSIThreshold               = 0.1
	PValueThreshold            = 0.05 // KS and chi-square: drift when p < 0.05
	WassersteinNormedThreshold = 0.1
	JensenShannonThreshold     = 0.1
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
	// Verdict marks the result of the feature's default test (DefaultTest),
	// whose Detected decides whether the feature drifted.
	Verdict bool
}

// DefaultTest returns the test that decides whether a feature drifted, and
// its threshold, by Evidently's rules: a reference of at most
// SmallReference rows gets the KS test (p < 0.05) for numeric features with
// more than five distinct values and the chi-square test (p < 0.05)
// otherwise; a larger reference gets the normed Wasserstein distance
// (>= 0.1) for numeric features with more than five distinct values and the
// Jensen–Shannon distance (>= 0.1) otherwise.
//
// Two deviations: Evidently counts distinct values over reference and
// current together; here only the reference's count, so the chosen test does
// not flip between windows. And Evidently tests a binary feature at most
// 1000 rows with a two-proportion Z-test; chi-square stands in for it for
// now (the two agree closely on large windows, Z being the pooled
// two-sample version).
//
// referenceRows is the reference's non-missing row count (Evidently drops
// missing values before choosing).
func DefaultTest(p *schemas.FeatureProfile, referenceRows int64) (metric string, threshold float64) {
	manyValues := p.Kind == schemas.KindNumeric && p.UniqueCount > lowCardinality
	switch {
	case referenceRows <= SmallReference && manyValues:
		return MetricKS, PValueThreshold
	case referenceRows <= SmallReference:
		return MetricChi2, PValueThreshold
	case manyValues:
		return MetricWassersteinNormed, WassersteinNormedThreshold
	default:
		return MetricJensenShannon, JensenShannonThreshold
	}
}

// Drift compares a window's sketch with the feature's reference profile.
// It returns no drift statistics when either side has no values, only
// missing_share when the window had missing values; it never returns NaN or
// infinities. s must be bound to p (or an equal profile), and p should have
// passed ValidateProfile: otherwise only missing_share is returned.
func Drift(p *schemas.FeatureProfile, s *Sketch) []Result {
	if p == nil || s == nil {
		return nil
	}
	var out []Result
	total := s.count + s.missing + s.mismatches
	missing := Result{Metric: MetricMissingShare}
	if total > 0 {
		missing.Value = float64(s.missing) / float64(total)
	}
	if s.count == 0 || p.Count <= 0 || !sameProfile(p, s.p) || ValidateProfile(p) != nil {
		if s.missing > 0 {
			out = append(out, missing)
		}
		return out
	}
	verdict, _ := DefaultTest(p, p.Count)
	switch s.kind {
	case kindNumeric:
		out = numericDrift(p, s, verdict)
	case kindCategorical:
		out = categoricalDrift(p, s, verdict)
	}
	out = append(out, missing)

	// Keep the promise of finite output. Distances over values spanning the
	// float range can overflow; they are reported as MaxFloat64, "at least
	// this". Every formula is NaN-free by construction, so the NaN check
	// only drops a result if one of them has a bug.
	kept := out[:0]
	for _, r := range out {
		if math.IsInf(r.Value, 0) {
			r.Value = math.Copysign(math.MaxFloat64, r.Value)
		}
		if finite(r.Value) && (r.PValue == nil || finite(*r.PValue)) {
			if r.Metric == verdict {
				r.Verdict = true
			}
			kept = append(kept, r)
		}
	}
	return kept
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
	}
	if verdict == MetricChi2 {
		stat, pc := chiSquare(cc, rb)
		out = append(out, test(MetricChi2, stat, pc))
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
	return []Result{
		above(MetricPSI, psi(rs, cs), PSIThreshold),
		test(MetricChi2, stat, pc),
		above(MetricJensenShannon, jensenShannon(rs, cs), JensenShannonThreshold),
		{Metric: MetricUnseenShare, Value: float64(outside) / float64(m)},
	}
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
