package stats

import "math"

// chi2SF returns P(X > x) for a chi-square variable with df degrees of
// freedom (scipy.stats.chi2.sf), as the regularised upper incomplete gamma
// function Q(df/2, x/2). It is accurate to about 1e-12 relative for the
// degrees of freedom categories produce (up to a few thousand); df < 1 has
// no distribution and returns 1 (no evidence against the null).
func chi2SF(df, x float64) float64 {
	if !(df >= 1) || math.IsNaN(x) {
		return 1
	}
	return gammaQ(df/2, x/2)
}

// gammaQ is the regularised upper incomplete gamma function Q(a, x) for
// a > 0: the power series for P when x < a+1, else Lentz's continued
// fraction for Q (Numerical Recipes §6.2).
func gammaQ(a, x float64) float64 {
	switch {
	case x <= 0:
		return 1
	case math.IsInf(x, 1):
		return 0
	case x < a+1:
		return clip01(1 - gammaPSeries(a, x))
	default:
		return clip01(gammaQFraction(a, x))
	}
}

// gammaPrefix returns x^a e^-x / Γ(a), computed in logarithms.
func gammaPrefix(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	return math.Exp(a*math.Log(x) - x - lg)
}

func gammaPSeries(a, x float64) float64 {
	ap := a
	term := 1 / a
	sum := term
	for i := 0; i < 100000; i++ {
		ap++
		term *= x / ap
		sum += term
		if math.Abs(term) < math.Abs(sum)*0x1p-53 {
			break
		}
	}
	return sum * gammaPrefix(a, x)
}

func gammaQFraction(a, x float64) float64 {
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 100000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 0x1p-53 {
			break
		}
	}
	return gammaPrefix(a, x) * h
}
