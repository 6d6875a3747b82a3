package perf

// The curve areas are computed from score histograms: bin k holds the
// scores that round to k/B. Scores in one bin count as tied. When every
// score lies on the grid (a multiple of 1/B), bins are exactly the
// distinct scores and the areas equal scikit-learn's on the raw scores;
// otherwise each function returns a bound on the difference, computed
// from the same histograms.

// rocAUC returns the area under the ROC curve of positives pos and
// negatives neg, which is the Mann–Whitney probability that a positive
// outscores a negative, ties counting one half (sklearn's roc_auc_score).
// Only pairs within one bin may be ordered differently in the raw scores,
// each changing the area by at most 1/2 / (P·N): the bound is half the
// share of such pairs. ok is false when either class has no rows.
func rocAUC(pos, neg []int64) (auc, bound float64, ok bool) {
	var p, n float64
	for k := range pos {
		p += float64(pos[k])
		n += float64(neg[k])
	}
	if p == 0 || n == 0 {
		return 0, 0, false
	}
	var area, tied, below float64
	for k := range pos {
		pk, nk := float64(pos[k]), float64(neg[k])
		area += pk * (below + nk/2)
		tied += pk * nk
		below += nk
	}
	return area / (p * n), tied / 2 / (p * n), true
}

// averagePrecision returns sklearn's average_precision_score: the mean,
// over the positives, of the precision at the threshold of each
// positive's score, with tied scores one threshold. In bins that are not
// single scores, a positive's precision may differ from its raw one by at
// most (n_k - 1) / N_≥k, where n_k is its bin's count and N_≥k the count
// at or above the bin: the bound is the positives' mean of that. ok is
// false without positives (the precision-recall curve is then undefined);
// without negatives it is 1.
func averagePrecision(pos, neg []int64) (ap, bound float64, ok bool) {
	var p float64
	for _, c := range pos {
		p += float64(c)
	}
	if p == 0 {
		return 0, 0, false
	}
	var tp, seen float64
	for k := len(pos) - 1; k >= 0; k-- {
		pk, nk := float64(pos[k]), float64(neg[k])
		if pk+nk == 0 {
			continue
		}
		tp += pk
		seen += pk + nk
		if pk > 0 {
			ap += pk * tp / seen
			bound += pk * (pk + nk - 1) / seen
		}
	}
	return ap / p, bound / p, true
}
