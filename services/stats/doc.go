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
// "Statistics" that a first version needs: PSI, Kolmogorov–Smirnov with its
// p-value, Wasserstein-1 (raw and normed), Jensen–Shannon, chi-square,
// unseen and missing shares, and marks the result of the default test that
// decides whether the feature drifted (DefaultTest, Evidently's rules).
// Statistics computed from binned counts state their approximation error on
// their Metric constant; the tests check each against scipy within that
// error on the vectors in testdata/, which tools/testvectors/drift_vectors.py
// generates.
package stats
