// Package stats holds the mergeable per-window sketch of one feature and the
// drift statistics of a window against the feature's reference profile
// (package reference builds profiles).
//
// A Sketch is bound to a schemas.FeatureProfile: numeric values are counted
// in the profile's bins, categorical values per category. Sketches of one
// feature and window merge associatively and commutatively, so level 1 of
// the windowing engine sketches each source partition and level 2 merges
// the partials (DESIGN.md, "Windows"); State and FromState carry a sketch
// across in a WindowPartial.
//
// Drift computes, from the merged sketch, the statistics of DESIGN.md
// "Statistics": PSI, Kolmogorov–Smirnov with its p-value, Wasserstein-1
// (raw and normed), Jensen–Shannon, Hellinger, Kullback–Leibler,
// chi-square, the two-proportion Z-test for features with at most two
// values, unseen share; the quality metrics (missing and type-mismatch
// share, out-of-range share, constant column); and the p50, p95 and p99 of
// numeric features from a DDSketch quantile sketch (quantile.go). It marks
// the result of the test that decides whether the feature drifted:
// DefaultTest (Evidently's rules), or the Test given to DriftTest.
// Every statistic computed from the sketch states its approximation error
// on its Metric constant; the tests check each against scipy, numpy and
// Evidently within that error on the vectors in testdata/, which
// tools/testvectors/drift_vectors.py generates.
package stats
