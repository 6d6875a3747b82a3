package perf

import (
	"math"
	"sort"
)

// Metric names, as Metrics returns them. Each follows scikit-learn 1.9;
// docs/perf.md gives the exact definitions.
const (
	MetricPredictions   = "predictions"    // rows added
	MetricLabeled       = "labeled"        // rows with a label
	MetricLabelCoverage = "label_coverage" // labeled / predictions
	MetricInvalid       = "invalid"        // scores, probabilities or values that were out of range or not finite
	// Classification, over the rows with a class label and a predicted
	// class. Per-class metrics carry the class in Metric.Class; zero
	// divisions give 0 as sklearn's zero_division default does.
	MetricAccuracy       = "accuracy"
	MetricSupport        = "support" // rows labelled the class
	MetricPrecision      = "precision"
	MetricRecall         = "recall"
	MetricF1             = "f1"
	MetricMacroPrecision = "macro_precision" // over the classes of labels and predictions
	MetricMacroRecall    = "macro_recall"
	MetricMacroF1        = "macro_f1"
	// From binary scores (the positive class's probability) or from
	// probabilities per class (one-vs-rest, macro-averaged).
	MetricROCAUC  = "roc_auc" // Metric.Error bounds the binning error
	MetricPRAUC   = "pr_auc"  // average precision; Metric.Error bounds the binning error
	MetricLogLoss = "log_loss"
	MetricBrier   = "brier"
	MetricECE     = "ece"
	// Regression, over the rows with a value label and a predicted value.
	MetricMAE  = "mae"
	MetricRMSE = "rmse"
	MetricMAPE = "mape"
	MetricR2   = "r2"
)

// Metric is one performance figure.
type Metric struct {
	Name  string
	Class string // the class of a per-class metric; "" otherwise
	Value float64
	// Error bounds |Value - v|, where v is scikit-learn's value on the raw
	// rows: 0 for metrics exact up to float rounding, the binning error's
	// bound for roc_auc and pr_auc (0 when every score was a multiple of
	// 1/ScoreBins).
	Error float64
	Count int64 // rows the metric is computed over
}

// Metrics returns every metric the state's rows define; a metric that is
// undefined (no rows for it, ROC AUC with one class only, R² of fewer than
// two rows) is absent rather than NaN. positive names the positive class
// of binary scores, "" the one Positive infers.
func (s *State) Metrics(positive string) []Metric {
	var out []Metric
	emit := func(name, class string, v, e float64, n int64) {
		out = append(out, Metric{Name: name, Class: class, Value: v, Error: e, Count: n})
	}
	emit(MetricPredictions, "", float64(s.predictions), 0, s.predictions)
	emit(MetricLabeled, "", float64(s.labeled), 0, s.predictions)
	if s.predictions > 0 {
		emit(MetricLabelCoverage, "", float64(s.labeled)/float64(s.predictions), 0, s.predictions)
	}
	if s.invalid > 0 {
		emit(MetricInvalid, "", float64(s.invalid), 0, s.labeled)
	}
	out = s.classification(out)
	if s.probaRows > 0 {
		out = s.probabilities(out)
	} else {
		out = s.binary(out, positive)
	}
	if r := s.reg; r.n > 0 {
		n := float64(r.n)
		emit(MetricMAE, "", r.sumAbs/n, 0, r.n)
		emit(MetricRMSE, "", math.Sqrt(r.sumSq/n), 0, r.n)
		emit(MetricMAPE, "", r.sumAP/n, 0, r.n)
		if r.n >= 2 {
			// sklearn's r2_score with force_finite: constant labels give 1
			// for a perfect fit and 0 otherwise.
			ssTot := r.ssTot()
			r2 := 1 - r.sumSq/ssTot
			if ssTot == 0 {
				r2 = 0
				if r.sumSq == 0 {
					r2 = 1
				}
			}
			// Saturated sums can make it -Inf; a metric stays finite.
			emit(MetricR2, "", math.Max(r2, -math.MaxFloat64), 0, r.n)
		}
	}
	return out
}

// Positive returns the positive class Metrics(positive) uses: positive
// when set; otherwise, when rows had both a predicted class and a score,
// the predicted class with the highest mean score if that mean is at
// least 1/2 (a binary classifier predicts the positive class when its
// score is high; ties go to the class that sorts last); otherwise the
// class that sorts last among those not predicted with a mean score below
// 1/2, or among all kept classes (1 for 0/1 labels, yes for no/yes, true
// for false/true, as sklearn takes it).
func (s *State) Positive(positive string) string {
	if positive != "" {
		return positive
	}
	best, bestMean := "", -1.0
	low := map[string]bool{}
	for _, c := range sortedKeys(s.predScores) {
		a := s.predScores[c]
		if c == OtherClass || a.n == 0 {
			continue
		}
		m := a.sum / float64(a.n)
		if m >= bestMean {
			best, bestMean = c, m
		}
		if m < 0.5 {
			low[c] = true
		}
	}
	if bestMean >= 0.5 {
		return best
	}
	for i := len(s.classes) - 1; i >= 0; i-- {
		if !low[s.classes[i]] {
			return s.classes[i]
		}
	}
	return best
}

func (s *State) classification(out []Metric) []Metric {
	var total int64
	row, col := map[string]int64{}, map[string]int64{}
	s.confusion.each(func(l, p string, n int64) {
		total += n
		row[l] += n
		col[p] += n
	})
	if total == 0 {
		return out
	}
	out = append(out, Metric{Name: MetricAccuracy, Value: float64(s.correct) / float64(total), Count: total})
	classes := make([]string, 0, len(row)+len(col))
	for c := range row {
		classes = append(classes, c)
	}
	for c := range col {
		if _, ok := row[c]; !ok {
			classes = append(classes, c)
		}
	}
	sort.Strings(classes)
	var sumP, sumR, sumF float64
	for _, c := range classes {
		tp := s.confusion.get(c, c)
		fp, fn := col[c]-tp, row[c]-tp
		p, r := ratio(tp, tp+fp), ratio(tp, tp+fn)
		f := ratio(2*tp, 2*tp+fp+fn)
		sumP, sumR, sumF = sumP+p, sumR+r, sumF+f
		out = append(out,
			Metric{Name: MetricSupport, Class: c, Value: float64(row[c]), Count: total},
			Metric{Name: MetricPrecision, Class: c, Value: p, Count: tp + fp},
			Metric{Name: MetricRecall, Class: c, Value: r, Count: tp + fn},
			Metric{Name: MetricF1, Class: c, Value: f, Count: total})
	}
	k := float64(len(classes))
	return append(out,
		Metric{Name: MetricMacroPrecision, Value: sumP / k, Count: total},
		Metric{Name: MetricMacroRecall, Value: sumR / k, Count: total},
		Metric{Name: MetricMacroF1, Value: sumF / k, Count: total})
}

// ratio is a/b, or 0 when b is 0 (sklearn's zero_division default).
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// binary computes the score metrics with one positive class: its label's
// scores are the positives, every other label's the negatives.
func (s *State) binary(out []Metric, positive string) []Metric {
	var n int64
	for _, a := range s.scores {
		n += a.n
	}
	if n == 0 {
		return out
	}
	posKey := s.key(s.Positive(positive))
	pos := s.scores[posKey]
	if pos == nil {
		pos = s.newScoreAcc()
	}
	neg := s.newScoreAcc()
	for l, a := range s.scores {
		if l != posKey {
			neg.merge(a)
		}
	}
	exact := s.offGridScores == 0
	if auc, e, ok := rocAUC(pos.hist, neg.hist); ok {
		if exact {
			e = 0
		}
		out = append(out, Metric{Name: MetricROCAUC, Value: auc, Error: e, Count: n})
	}
	if ap, e, ok := averagePrecision(pos.hist, neg.hist); ok {
		if exact {
			e = 0
		}
		out = append(out, Metric{Name: MetricPRAUC, Value: ap, Error: e, Count: n})
	}
	fn := float64(n)
	var ece float64
	for b := range pos.calN {
		ece += math.Abs(float64(pos.calN[b]) - pos.calSum[b] - neg.calSum[b])
	}
	return append(out,
		Metric{Name: MetricLogLoss, Value: (pos.logPos + neg.logNeg) / fn, Count: n},
		Metric{Name: MetricBrier, Value: (pos.sqPos + neg.sqNeg) / fn, Count: n},
		Metric{Name: MetricECE, Value: ece / fn, Count: n})
}

// probabilities computes the score metrics of multi-class probabilities:
// ROC AUC and PR AUC one-vs-rest, averaged over the kept classes where
// they are defined; log loss and Brier score over every row; the
// calibration error of the top class.
func (s *State) probabilities(out []Metric) []Metric {
	classes := make([]string, 0, len(s.ovr))
	for c := range s.ovr {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var aucSum, aucErr, apSum, apErr float64
	var aucN, apN int
	for _, c := range classes {
		a := s.ovr[c]
		if v, e, ok := rocAUC(a.pos, a.neg); ok {
			aucSum, aucErr, aucN = aucSum+v, aucErr+e, aucN+1
		}
		if v, e, ok := averagePrecision(a.pos, a.neg); ok {
			apSum, apErr, apN = apSum+v, apErr+e, apN+1
		}
	}
	n := s.probaRows
	if s.offGridProba == 0 {
		aucErr, apErr = 0, 0
	}
	if aucN > 0 {
		out = append(out, Metric{Name: MetricROCAUC, Value: aucSum / float64(aucN), Error: aucErr / float64(aucN), Count: n})
	}
	if apN > 0 {
		out = append(out, Metric{Name: MetricPRAUC, Value: apSum / float64(apN), Error: apErr / float64(apN), Count: n})
	}
	brier := s.probaBrier / float64(n)
	if s.probaWidth < 3 {
		brier /= 2 // sklearn's scale_by_half="auto" for two columns
	}
	var ece float64
	for b := range s.topN {
		ece += math.Abs(float64(s.topCorrect[b]) - s.topSum[b])
	}
	return append(out,
		Metric{Name: MetricLogLoss, Value: s.probaLog / float64(n), Count: n},
		Metric{Name: MetricBrier, Value: brier, Count: n},
		Metric{Name: MetricECE, Value: ece / float64(n), Count: n})
}
