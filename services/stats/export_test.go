package stats

// Internals the external tests check against scipy directly.
var (
	KolmogorovSF      = kolmogorovSF
	Chi2SF            = chi2SF
	KSBinned          = ksBinned
	KSPValue          = ksPValue
	WassersteinBinned = wassersteinBinned
	PointMassProfile  = pointMassProfile
	NewQuantileSketch = newQuantileSketch
	AddQuantile       = addQuantile
)
