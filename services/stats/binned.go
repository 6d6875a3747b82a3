package stats

import "math"

// The statistics below work on counts in shared bins. They are exact
// functions of the bins; what binning loses is stated on the Metric
// constants in drift.go.

// shares returns counts divided by their total, as Evidently's percents.
func shares(counts []int64, total int64) []float64 {
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = float64(c) / float64(total)
	}
	return out
}

// fillZeros replaces the zero shares with Evidently's epsilon: 0.0001, or a
// millionth of the smallest non-zero share when that is itself <= 0.0001,
// so that every logarithm below is finite.
func fillZeros(p []float64) {
	least := math.Inf(1)
	for _, x := range p {
		if x > 0 && x < least {
			least = x
		}
	}
	if math.IsInf(least, 1) {
		return
	}
	eps := 0.0001
	if least <= 0.0001 {
		eps = least / 1e6
	}
	for i, x := range p {
		if x == 0 {
			p[i] = eps
		}
	}
}

// psi is the population stability index Σ (r−c)·ln(r/c) over shares, with
// zero shares of either side filled as Evidently does.
func psi(ref, cur []float64) float64 {
	r := append([]float64(nil), ref...)
	c := append([]float64(nil), cur...)
	fillZeros(r)
	fillZeros(c)
	sum := 0.0
	for i := range r {
		sum += (r[i] - c[i]) * math.Log(r[i]/c[i])
	}
	return sum
}

// jensenShannon is scipy.spatial.distance.jensenshannon(p, q) with natural
// logarithms (base=None): the square root of the mean Kullback–Leibler
// divergence of p and q from their midpoint, from 0 up to sqrt(ln 2).
// Like scipy it normalises p and q first; zero shares need no epsilon.
func jensenShannon(p, q []float64) float64 {
	var sp, sq float64
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	if sp <= 0 || sq <= 0 {
		return 0
	}
	var js float64
	for i := range p {
		a, b := p[i]/sp, q[i]/sq
		m := (a + b) / 2
		if a > 0 {
			js += a * math.Log(a/m)
		}
		if b > 0 {
			js += b * math.Log(b/m)
		}
	}
	return math.Sqrt(math.Max(js/2, 0))
}

// chiSquare is Pearson's goodness-of-fit statistic of observed counts
// against expected shares (scipy.stats.chisquare(obs, m·exp)), and its
// p-value with len−1 degrees of freedom. Cells the reference never saw have
// no expectation, which makes the statistic infinite; they get Evidently's
// PSI epsilon as their share and the shares are renormalised to 1, so the
// statistic stays finite, becomes very large, and the p-value is ~0.
func chiSquare(obs []int64, exp []float64) (stat, p float64) {
	var m int64
	for _, o := range obs {
		m += o
	}
	q := append([]float64(nil), exp...)
	fillZeros(q)
	total := 0.0
	for _, x := range q {
		total += x
	}
	for i, o := range obs {
		e := float64(m) * q[i] / total
		d := float64(o) - e
		stat += d * d / e
	}
	if len(obs) < 2 {
		return stat, 1
	}
	return stat, chi2SF(float64(len(obs)-1), stat)
}

// ksBinned returns the two-sample Kolmogorov–Smirnov distance between two
// samples given as counts in shared bins (bin i holds [e_{i-1}, e_i)),
// evaluated at the bin edges, where both empirical CDFs are known exactly,
// and an upper bound of the distance over all x: inside bin i each CDF lies
// between its values at the bin's two edges.
func ksBinned(ref, cur []int64, n, m int64) (d, upper float64) {
	var cr, cc int64
	for i := range ref {
		ar, ac := float64(cr)/float64(n), float64(cc)/float64(m)
		cr += ref[i]
		cc += cur[i]
		br, bc := float64(cr)/float64(n), float64(cc)/float64(m)
		if i < len(ref)-1 {
			d = math.Max(d, math.Abs(br-bc))
		}
		upper = math.Max(upper, math.Max(math.Abs(br-ac), math.Abs(bc-ar)))
	}
	return d, upper
}

// ksPValue is the two-sided p-value scipy.stats.ks_2samp(method="asymp")
// gives for the distance d between samples of sizes n and m: the
// one-sample Kolmogorov distribution with the effective size
// round(n·m/(n+m)), rounded half to even as numpy does (at least 1).
func ksPValue(d float64, n, m int64) float64 {
	a, b := float64(max(n, m)), float64(min(n, m))
	en := int(math.RoundToEven(a * b / (a + b)))
	return kolmogorovSF(max(en, 1), d)
}

// wassersteinBinned estimates the Wasserstein-1 distance ∫|F_ref − F_cur|dx
// of two samples given as counts in shared bins, with lo and hi the smallest
// and largest value of either sample (they close the outer bins), and
// returns rigorous bounds: inside a bin each CDF lies between its values at
// the bin's edges, which bounds |F_ref − F_cur| there.
//
// The estimate spreads each bin's mass evenly across the bin (linear CDFs),
// except when pointMass is set: then every bin the reference occupies holds
// a single reference value at its left edge (a reference with few distinct
// values, whose edges are those values), and both samples' mass in such a
// bin is taken to sit on that value, which is exact when the current sample
// takes only reference values there.
func wassersteinBinned(edges []float64, ref, cur []int64, n, m int64, lo, hi float64, pointMass bool) (est, lower, upper float64) {
	var cr, cc int64
	k := len(edges)
	for i := 0; i <= k; i++ {
		left, right := lo, hi
		if i > 0 {
			left = math.Max(edges[i-1], lo)
		}
		if i < k {
			right = math.Min(edges[i], hi)
		}
		ar, ac := float64(cr)/float64(n), float64(cc)/float64(m)
		cr += ref[i]
		cc += cur[i]
		br, bc := float64(cr)/float64(n), float64(cc)/float64(m)
		if !(right > left) {
			continue
		}
		w := math.Min(right-left, math.MaxFloat64) // a range wider than the floats' overflows
		if pointMass && ref[i] > 0 {
			est += w * math.Abs(br-bc)
		} else {
			est += w * absLinearMean(ar-ac, br-bc)
		}
		lower += w * math.Max(0, math.Max(ar-bc, ac-br))
		upper += w * math.Max(math.Abs(br-ac), math.Abs(bc-ar))
	}
	return est, lower, upper
}

// absLinearMean is the mean of |f| over an interval where f runs linearly
// from d0 to d1.
func absLinearMean(d0, d1 float64) float64 {
	if d0*d1 >= 0 {
		return (math.Abs(d0) + math.Abs(d1)) / 2
	}
	return (d0*d0 + d1*d1) / (2 * (math.Abs(d0) + math.Abs(d1)))
}

// hellinger is the Hellinger distance sqrt(1 − Σ sqrt(p_i·q_i)) between
// two share vectors, as Evidently computes it for categories: no epsilon,
// the Bhattacharyya coefficient clipped to [0, 1], so the distance lies in
// [0, 1].
func hellinger(p, q []float64) float64 {
	bc := 0.0
	for i := range p {
		bc += math.Sqrt(p[i] * q[i])
	}
	return math.Sqrt(1 - math.Min(math.Max(bc, 0), 1))
}

// klDivergence is scipy.stats.entropy(ref, cur), the Kullback–Leibler
// divergence D(ref ‖ cur) in nats, on shares whose zeros are filled with
// Evidently's epsilon (as its kl_div test does through get_binned_data);
// like scipy it normalises both vectors to sum 1 after the filling.
func klDivergence(ref, cur []float64) float64 {
	r := append([]float64(nil), ref...)
	c := append([]float64(nil), cur...)
	fillZeros(r)
	fillZeros(c)
	var sr, sc float64
	for i := range r {
		sr += r[i]
		sc += c[i]
	}
	if sr <= 0 || sc <= 0 {
		return 0
	}
	kl := 0.0
	for i := range r {
		a, b := r[i]/sr, c[i]/sc
		if a > 0 {
			kl += a * math.Log(a/b)
		}
	}
	return math.Max(kl, 0)
}

// zTest is Evidently's two-proportion Z-test: the share of values that are
// not the "first" value (refFirst of n in the reference, curFirst of m in
// the current sample) compared with the pooled proportion, and the
// two-sided p-value 2·(1 − Φ(|z|)), here as erfc(|z|/√2), which keeps its
// precision where 1 − Φ rounds to 0. When neither sample varies around the
// pooled proportion (both entirely the first value, or entirely others)
// there is nothing to test: z = 0, p = 1, as Evidently returns for two
// identical constant samples.
func zTest(refFirst, n, curFirst, m int64) (z, p float64) {
	if n <= 0 || m <= 0 {
		return 0, 1
	}
	fn, fm := float64(n), float64(m)
	p1 := float64(n-refFirst) / fn
	p2 := float64(m-curFirst) / fm
	pooled := (p1*fn + p2*fm) / (fn + fm)
	v := pooled * (1 - pooled) * (1/fn + 1/fm)
	if !(v > 0) {
		return 0, 1
	}
	z = (p1 - p2) / math.Sqrt(v)
	return z, clip01(math.Erfc(math.Abs(z) / math.Sqrt2))
}
