package perf

import "math"

// ExactBelow is the number of discordant pairs below which McNemar uses
// the exact binomial test; from it on, the chi-square approximation with
// continuity correction, which is good once b + c reaches about 25.
const ExactBelow = 25

// Paired counts two classifiers' correctness on the same labelled
// requests (production against a shadow). It merges by addition.
type Paired struct {
	Both    int64 `json:"both"`    // both right
	OnlyA   int64 `json:"only_a"`  // A right, B wrong: McNemar's b
	OnlyB   int64 `json:"only_b"`  // A wrong, B right: McNemar's c
	Neither int64 `json:"neither"` // both wrong
}

// Add counts one request.
func (p *Paired) Add(aRight, bRight bool) {
	switch {
	case aRight && bRight:
		p.Both++
	case aRight:
		p.OnlyA++
	case bRight:
		p.OnlyB++
	default:
		p.Neither++
	}
}

// Merge adds o's counts.
func (p *Paired) Merge(o Paired) {
	p.Both += o.Both
	p.OnlyA += o.OnlyA
	p.OnlyB += o.OnlyB
	p.Neither += o.Neither
}

// McNemarResult is McNemar's test of whether two paired classifiers have
// the same error rate.
type McNemarResult struct {
	B, C int64 // discordant counts: only A right, only B right
	// Statistic is min(b, c) for the exact test, as statsmodels reports
	// it, and (|b - c| - 1)² / (b + c) for the chi-square one.
	Statistic float64
	PValue    float64
	Exact     bool
}

// McNemar tests the discordant counts with the exact binomial test when
// b + c < ExactBelow and with the chi-square test otherwise.
func (p Paired) McNemar() McNemarResult {
	return McNemar(p.OnlyA, p.OnlyB, p.OnlyA+p.OnlyB < ExactBelow)
}

// McNemar is statsmodels' mcnemar(table, exact, correction=True) on
// discordant counts b and c. Exact: the two-sided binomial test of b
// successes in b + c trials with probability 1/2, p = min(1, 2·P(X ≤
// min(b, c))), which equals scipy.stats.binomtest's two-sided p-value for
// p = 1/2. Otherwise (|b - c| - 1)² / (b + c) against chi-square with one
// degree of freedom. With b + c = 0 the chi-square statistic is 0 and p
// is 1 (statsmodels divides by zero there).
func McNemar(b, c int64, exact bool) McNemarResult {
	r := McNemarResult{B: max(b, 0), C: max(c, 0), Exact: exact}
	n := r.B + r.C
	if exact {
		k := min(r.B, r.C)
		r.Statistic = float64(k)
		r.PValue = math.Min(1, 2*binomCDFHalf(k, n))
		return r
	}
	if n == 0 {
		r.PValue = 1
		return r
	}
	d := math.Abs(float64(r.B)-float64(r.C)) - 1
	r.Statistic = d * d / float64(n)
	// The chi-square(1) survival function: P(Z² > x) = erfc(√(x/2)).
	r.PValue = math.Erfc(math.Sqrt(r.Statistic / 2))
	return r
}

// binomCDFHalf is P(X ≤ k) for X ~ Binomial(n, 1/2), summed from the
// smallest term up in log space so that large n neither overflows nor
// loses the small tail.
func binomCDFHalf(k, n int64) float64 {
	if k >= n {
		return 1
	}
	lgN, _ := math.Lgamma(float64(n) + 1)
	logHalfN := float64(n) * math.Ln2
	var sum float64
	for i := int64(0); i <= k; i++ {
		a, _ := math.Lgamma(float64(i) + 1)
		b, _ := math.Lgamma(float64(n-i) + 1)
		sum += math.Exp(lgN - a - b - logHalfN)
	}
	return math.Min(sum, 1)
}
