// Package perf computes a model's performance once labels have joined its
// predictions: classification metrics (confusion matrix, accuracy,
// precision, recall and F1 per class and macro-averaged, ROC AUC and PR AUC
// from score histograms, log loss, Brier score, expected calibration
// error), regression metrics (MAE, RMSE, MAPE, R²) and McNemar's paired test
// of two classifiers on the same labelled requests.
//
// Everything is computed from a State, a mergeable summary of one window's
// labelled predictions: counts, fixed-bin histograms and sums. States of
// disjoint sets of rows merge associatively and commutatively (counts
// exactly, float sums up to rounding), so a window's state is the merge of
// its partitions' states and an hour's is the merge of its windows'. Encode
// and Decode carry a State across processes.
//
// The metrics follow scikit-learn's definitions (sklearn 1.9); each Metric
// states its absolute approximation error bound, which is zero except for
// the two curve areas, whose bound comes from the score histogram and is
// reported with the value. tools/testvectors/perf_vectors.py writes the test
// vectors in testdata/ with scikit-learn's and scipy's values; docs/perf.md
// defines every metric.
package perf
