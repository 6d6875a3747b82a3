package perf

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/driftline/driftline/schemas"
)

const (
	// DefaultScoreBins is the resolution of the score histograms behind
	// ROC AUC and PR AUC: scores are rounded to the nearest multiple of
	// 1/DefaultScoreBins.
	DefaultScoreBins = 1000
	// MaxScoreBins bounds Options.ScoreBins, and so a state's size.
	MaxScoreBins = 100000
	// DefaultCalibrationBins is the number of equal-width bins over [0, 1]
	// of the expected calibration error.
	DefaultCalibrationBins = 10
	// MaxCalibrationBins bounds Options.CalibrationBins.
	MaxCalibrationBins = 1000
	// MaxClasses is how many classes a state keeps by name: the
	// lexicographically smallest ones of all it has seen. Rows of the others
	// count under OtherClass.
	MaxClasses = 100
	// MaxClassBytes is the longest class name kept; longer ones count under
	// OtherClass, so free text cannot make a state grow without bound.
	MaxClassBytes = 256
	// MaxValue bounds the magnitude of regression predictions and labels;
	// larger ones (and NaN, ±Inf) count as invalid, so that squared errors
	// stay finite.
	MaxValue = 1e150
	// OtherClass pools the classes beyond MaxClasses. A real class spelled
	// the same way is pooled with them.
	OtherClass = "__other__"
)

// eps is numpy's float64 machine epsilon, which scikit-learn uses to clip
// probabilities in log_loss and to bound |y| below in
// mean_absolute_percentage_error.
const eps = 2.220446049250313e-16

// Options shape a State. Zero fields take the defaults.
type Options struct {
	ScoreBins       int
	CalibrationBins int
}

func (o Options) withDefaults() (Options, error) {
	if o.ScoreBins == 0 {
		o.ScoreBins = DefaultScoreBins
	}
	if o.CalibrationBins == 0 {
		o.CalibrationBins = DefaultCalibrationBins
	}
	if o.ScoreBins < 1 || o.ScoreBins > MaxScoreBins {
		return o, fmt.Errorf("score bins %d: want 1 to %d", o.ScoreBins, MaxScoreBins)
	}
	if o.CalibrationBins < 1 || o.CalibrationBins > MaxCalibrationBins {
		return o, fmt.Errorf("calibration bins %d: want 1 to %d", o.CalibrationBins, MaxCalibrationBins)
	}
	return o, nil
}

// State is the mergeable performance summary of a set of predictions and
// their labels. The zero value is not usable; call New or Decode.
//
// A row with a class label counts in the confusion matrix when its
// prediction has a class; its binary score (the probability of the
// positive class) in the score histogram of its label; its probabilities
// per class in one-vs-rest histograms per class. A row with a value label
// and a predicted value counts in the regression sums. Scores and
// probabilities outside [0, 1], NaN, and non-finite values count as
// invalid and nowhere else.
type State struct {
	bins, calBins int

	predictions, labeled, invalid int64

	classes []string // kept class names, ascending, at most MaxClasses

	// classification
	confusion   confusion // (label, predicted) under kept names
	correct     int64     // label == predicted, on the real names
	unpredicted int64     // class labels whose prediction has no class

	// binary scores, by label class
	scores map[string]*scoreAcc
	// scores and probabilities that are not multiples of 1/bins: while
	// there are none, the curve areas are exact
	offGridScores, offGridProba int64
	// binary scores by predicted class, to tell which class the score is
	// the probability of
	predScores map[string]*meanAcc

	// probabilities per class (multi-class)
	ovr        map[string]*ovrAcc // kept class → its probability's histograms
	probaRows  int64
	probaLog   float64 // Σ -log(clip(p[label]))
	probaBrier float64 // Σ_c (p_c - [c == label])²
	probaWidth int     // most probabilities in one row
	topN       []int64 // calibration of the top class, per bin
	topSum     []float64
	topCorrect []int64

	reg regAcc
}

// scoreAcc sums the binary scores of rows with one label class.
type scoreAcc struct {
	n      int64
	hist   []int64 // bin k holds the scores that round to k/bins
	calN   []int64 // per calibration bin
	calSum []float64
	logPos float64 // Σ -log(clip(s)): the loss were this class positive
	logNeg float64 // Σ -log(clip(1-s))
	sqPos  float64 // Σ (1-s)²
	sqNeg  float64 // Σ s²
}

// meanAcc sums scores.
type meanAcc struct {
	n   int64
	sum float64
}

// ovrAcc holds one class's probability histograms, split by whether the
// row's label is that class.
type ovrAcc struct{ pos, neg []int64 }

// regAcc sums regression errors. For R² = 1 - SSres/SStot it keeps Σd and
// Σd² of the labels shifted by one of them, d = y - shift: SStot = Σd² -
// (Σd)²/n. Unshifted, Σy² - (Σy)²/n cancels catastrophically when the
// labels' mean is large against their spread (1e9 ± 1 loses every digit);
// shifted by a typical label (the first, and after a merge the merged
// mean), d is exact and the cancellation harmless.
type regAcc struct {
	n                    int64
	sumAbs, sumSq, sumAP float64
	shift, sumD, sumD2   float64
}

// New returns an empty state.
func New(opts Options) (*State, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return newState(o.ScoreBins, o.CalibrationBins), nil
}

func newState(bins, calBins int) *State {
	return &State{
		bins: bins, calBins: calBins,
		confusion: confusion{}, scores: map[string]*scoreAcc{}, ovr: map[string]*ovrAcc{}, predScores: map[string]*meanAcc{},
		topN: make([]int64, calBins), topSum: make([]float64, calBins), topCorrect: make([]int64, calBins),
	}
}

// ScoreBins is the resolution of the score histograms.
func (s *State) ScoreBins() int { return s.bins }

// Add counts one prediction with its label. A nil labelClass and nil
// labelValue mean the label has not arrived: the row counts in the
// predictions only.
func (s *State) Add(p schemas.Prediction, labelClass *string, labelValue *float64) {
	s.predictions++
	if labelClass == nil && labelValue == nil {
		return
	}
	s.labeled++
	if labelClass != nil {
		s.addClass(p, *labelClass)
	}
	if labelValue != nil && p.Value != nil {
		y, f := *labelValue, *p.Value
		if !(math.Abs(y) <= MaxValue && math.Abs(f) <= MaxValue) {
			s.invalid++
		} else {
			s.reg.add(f, y)
		}
	}
}

func (s *State) addClass(p schemas.Prediction, label string) {
	// Every name is seen before any is looked up: seeing one may push
	// another out of the kept set.
	s.see(label)
	if p.Class != nil {
		s.see(*p.Class)
	}
	for c := range p.Probabilities {
		s.see(c)
	}
	lk := s.key(label)
	if p.Class != nil {
		s.confusion.add(lk, s.key(*p.Class), 1)
		if *p.Class == label {
			s.correct++
		}
	} else {
		s.unpredicted++
	}
	if p.Score != nil {
		if sc := *p.Score; sc >= 0 && sc <= 1 {
			a := s.scores[lk]
			if a == nil {
				a = s.newScoreAcc()
				s.scores[lk] = a
			}
			b := s.bin(sc)
			a.add(sc, b, s.calBin(sc))
			if !s.onGrid(sc, b) {
				s.offGridScores++
			}
			if p.Class != nil {
				s.addPredScore(s.key(*p.Class), meanAcc{1, sc})
			}
		} else {
			s.invalid++
		}
	}
	if len(p.Probabilities) > 0 {
		s.addProba(p.Probabilities, label)
	}
}

func (s *State) addProba(probs map[string]float64, label string) {
	for _, v := range probs {
		if !(v >= 0 && v <= 1) {
			s.invalid++
			return
		}
	}
	s.probaRows++
	s.probaWidth = max(s.probaWidth, len(probs))
	// In name order, so that the float sums do not depend on map order.
	var buf [8]string
	names := buf[:0]
	for c := range probs {
		names = append(names, c)
	}
	slices.Sort(names)
	pl, brier := 0.0, 0.0
	top, conf := "", -1.0
	for _, c := range names {
		v := probs[c]
		// Every probability, kept class or not, so the count does not
		// depend on when a class was pooled.
		if !s.onGrid(v, s.bin(v)) {
			s.offGridProba++
		}
		y := 0.0
		if c == label {
			y, pl = 1, v
		}
		brier += (v - y) * (v - y)
		// The top class: the highest probability, ties to the smallest
		// name.
		if v > conf {
			top, conf = c, v
		}
		if k := s.key(c); k != OtherClass {
			a := s.ovr[k]
			if a == nil {
				a = &ovrAcc{pos: make([]int64, s.bins+1), neg: make([]int64, s.bins+1)}
				s.ovr[k] = a
			}
			b := s.bin(v)
			if c == label {
				a.pos[b]++
			} else {
				a.neg[b]++
			}
		}
	}
	if _, ok := probs[label]; !ok {
		brier++ // the label's own term, (0 - 1)²
	}
	s.probaLog -= math.Log(clip(pl))
	s.probaBrier += brier
	b := s.calBin(conf)
	s.topN[b]++
	s.topSum[b] += conf
	if top == label {
		s.topCorrect[b]++
	}
}

func (s *State) addPredScore(k string, m meanAcc) {
	a := s.predScores[k]
	if a == nil {
		a = &meanAcc{}
		s.predScores[k] = a
	}
	a.n += m.n
	a.sum += m.sum
}

func (s *State) newScoreAcc() *scoreAcc {
	return &scoreAcc{hist: make([]int64, s.bins+1), calN: make([]int64, s.calBins), calSum: make([]float64, s.calBins)}
}

func (a *scoreAcc) add(sc float64, bin, cal int) {
	a.n++
	a.hist[bin]++
	a.calN[cal]++
	a.calSum[cal] += sc
	a.logPos -= math.Log(clip(sc))
	a.logNeg -= math.Log(clip(1 - sc))
	a.sqPos += (1 - sc) * (1 - sc)
	a.sqNeg += sc * sc
}

func (a *scoreAcc) merge(o *scoreAcc) {
	a.n += o.n
	addInts(a.hist, o.hist)
	addInts(a.calN, o.calN)
	for i, v := range o.calSum {
		a.calSum[i] += v
	}
	a.logPos += o.logPos
	a.logNeg += o.logNeg
	a.sqPos += o.sqPos
	a.sqNeg += o.sqNeg
}

// add counts one prediction and label. The sums saturate at MaxFloat64
// (a relative error of a label near 0 is up to 1/eps times the error), so
// a state stays finite and encodable.
func (r *regAcc) add(pred, y float64) {
	e := pred - y
	if r.n == 0 {
		r.shift = y
	}
	r.n++
	r.sumAbs = sat(r.sumAbs + math.Abs(e))
	r.sumSq = sat(r.sumSq + e*e)
	r.sumAP = sat(r.sumAP + math.Abs(e)/math.Max(math.Abs(y), eps))
	d := y - r.shift
	r.sumD = satSigned(r.sumD + d)
	r.sumD2 = sat(r.sumD2 + d*d)
}

func (r *regAcc) merge(o regAcc) {
	if o.n == 0 {
		return
	}
	if r.n == 0 {
		*r = o
		return
	}
	// Both sides move to the merged mean, which the sums are then nearest
	// to; it is symmetric in the two sides, so the merge commutes.
	n := float64(r.n + o.n)
	shift := r.mean()*(float64(r.n)/n) + o.mean()*(float64(o.n)/n)
	d1, d2 := r.shifted(shift)
	e1, e2 := o.shifted(shift)
	r.n += o.n
	r.shift, r.sumD, r.sumD2 = shift, satSigned(d1+e1), sat(d2+e2)
	r.sumAbs = sat(r.sumAbs + o.sumAbs)
	r.sumSq = sat(r.sumSq + o.sumSq)
	r.sumAP = sat(r.sumAP + o.sumAP)
}

// shifted returns Σ(y - shift) and Σ(y - shift)².
func (r *regAcc) shifted(shift float64) (sumD, sumD2 float64) {
	if shift == r.shift {
		return r.sumD, r.sumD2
	}
	k := r.shift - shift
	n := float64(r.n)
	return satSigned(r.sumD + n*k), sat(r.sumD2 + 2*k*r.sumD + n*k*k)
}

// mean is ȳ.
func (r *regAcc) mean() float64 { return r.shift + r.sumD/float64(r.n) }

// ssTot is Σ(y - ȳ)².
func (r *regAcc) ssTot() float64 {
	return math.Max(r.sumD2-r.sumD*r.sumD/float64(r.n), 0)
}

// bin is the score histogram bin of v in [0, 1]: v rounded to the nearest
// multiple of 1/bins, half to even (numpy's rint), so a score on that grid
// lands exactly in its own bin.
func (s *State) bin(v float64) int {
	return min(max(int(math.RoundToEven(v*float64(s.bins))), 0), s.bins)
}

// onGrid reports whether v is exactly the score of its bin b, b/bins.
// A decimal score with at most log10(bins) digits after the point is: the
// division and the parsing both round to the nearest float64.
func (s *State) onGrid(v float64, b int) bool { return float64(b)/float64(s.bins) == v }

// calBin is the calibration bin of v in [0, 1] as
// sklearn.calibration.calibration_curve(strategy="uniform") assigns it:
// the number of inner edges i/calBins strictly below v, so bin b holds
// (b/calBins, (b+1)/calBins] and bin 0 also holds 0.
func (s *State) calBin(v float64) int {
	step := 1 / float64(s.calBins)
	// Edges computed as numpy.linspace does (i*step), so that a score on an
	// edge lands in the same bin.
	lo, hi := 1, s.calBins // search among inner edges 1..calBins-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if float64(mid)*step < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// see records that class c exists, keeping the MaxClasses smallest names.
// The kept set is always the smallest names of every name seen, whatever
// the order rows came in; a name once pushed out never comes back (names
// only accumulate), so a kept name's counts are complete.
func (s *State) see(c string) {
	if c == OtherClass || len(c) > MaxClassBytes {
		return
	}
	i := sort.SearchStrings(s.classes, c)
	if i < len(s.classes) && s.classes[i] == c {
		return
	}
	if len(s.classes) == MaxClasses {
		if i == MaxClasses {
			return // beyond every kept name
		}
		s.evict(s.classes[MaxClasses-1])
		s.classes = s.classes[:MaxClasses-1]
	}
	s.classes = append(s.classes, "")
	copy(s.classes[i+1:], s.classes[i:])
	s.classes[i] = c
}

// evict moves class e's counts to OtherClass.
func (s *State) evict(e string) {
	s.confusion.pool(e)
	if a := s.scores[e]; a != nil {
		delete(s.scores, e)
		if o := s.scores[OtherClass]; o != nil {
			o.merge(a)
		} else {
			s.scores[OtherClass] = a
		}
	}
	if a := s.predScores[e]; a != nil {
		delete(s.predScores, e)
		s.addPredScore(OtherClass, *a)
	}
	// A one-vs-rest curve of a pool of classes means nothing: dropped.
	delete(s.ovr, e)
}

// key is the name c counts under: c when kept, else OtherClass.
func (s *State) key(c string) string {
	i := sort.SearchStrings(s.classes, c)
	if i < len(s.classes) && s.classes[i] == c {
		return c
	}
	return OtherClass
}

// Merge adds o's rows to s. Both must have the same bins. o is not
// changed.
func (s *State) Merge(o *State) error {
	if s.bins != o.bins || s.calBins != o.calBins {
		return fmt.Errorf("merge: bins %d/%d and %d/%d differ", s.bins, s.calBins, o.bins, o.calBins)
	}
	for _, c := range o.classes {
		s.see(c)
	}
	s.predictions += o.predictions
	s.labeled += o.labeled
	s.invalid += o.invalid
	s.correct += o.correct
	s.unpredicted += o.unpredicted
	o.confusion.each(func(l, p string, n int64) { s.confusion.add(s.key(l), s.key(p), n) })
	for l, a := range o.scores {
		k := s.key(l)
		b := s.scores[k]
		if b == nil {
			b = s.newScoreAcc()
			s.scores[k] = b
		}
		b.merge(a)
	}
	for c, a := range o.predScores {
		s.addPredScore(s.key(c), *a)
	}
	for c, a := range o.ovr {
		if s.key(c) == OtherClass {
			continue
		}
		b := s.ovr[c]
		if b == nil {
			b = &ovrAcc{pos: make([]int64, s.bins+1), neg: make([]int64, s.bins+1)}
			s.ovr[c] = b
		}
		addInts(b.pos, a.pos)
		addInts(b.neg, a.neg)
	}
	s.offGridScores += o.offGridScores
	s.offGridProba += o.offGridProba
	s.probaRows += o.probaRows
	s.probaLog += o.probaLog
	s.probaBrier += o.probaBrier
	s.probaWidth = max(s.probaWidth, o.probaWidth)
	addInts(s.topN, o.topN)
	addInts(s.topCorrect, o.topCorrect)
	for i, v := range o.topSum {
		s.topSum[i] += v
	}
	s.reg.merge(o.reg)
	return nil
}

// Classes returns the kept class names in ascending order, plus OtherClass
// when rows counted under it; the caller must not modify it.
func (s *State) Classes() []string {
	out := append([]string(nil), s.classes...)
	pooled := false
	s.confusion.each(func(l, p string, _ int64) { pooled = pooled || l == OtherClass || p == OtherClass })
	if pooled {
		return append(out, OtherClass)
	}
	if s.scores[OtherClass] != nil {
		return append(out, OtherClass)
	}
	return out
}

// Confusion returns the number of rows labelled label and predicted pred
// (names as Classes gives them).
func (s *State) Confusion(label, pred string) int64 { return s.confusion.get(label, pred) }

func addInts(dst, src []int64) {
	for i, v := range src {
		dst[i] += v
	}
}

func clip(p float64) float64 { return math.Min(math.Max(p, eps), 1-eps) }

// sat saturates a non-negative sum at MaxFloat64.
func sat(x float64) float64 { return math.Min(x, math.MaxFloat64) }

// satSigned saturates a sum at ±MaxFloat64.
func satSigned(x float64) float64 { return math.Max(math.Min(x, math.MaxFloat64), -math.MaxFloat64) }

var errCorrupt = errors.New("corrupt performance state")
