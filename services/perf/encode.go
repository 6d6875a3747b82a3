package perf

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// MaxEncodedBytes bounds the input Decode accepts. A state with
// MaxClasses classes and full default histograms encodes in well under a
// megabyte.
const MaxEncodedBytes = 8 << 20

// encodingVersion is written in every encoded state; Decode rejects others.
const encodingVersion = 1

// wire is the encoded form of a State: JSON, histograms sparse as
// [bin, count] pairs, maps as lists sorted by name so that one state
// always encodes to the same bytes.
type wire struct {
	Version         int          `json:"v"`
	ScoreBins       int          `json:"score_bins"`
	CalibrationBins int          `json:"calibration_bins"`
	Predictions     int64        `json:"predictions"`
	Labeled         int64        `json:"labeled"`
	Invalid         int64        `json:"invalid,omitempty"`
	Classes         []string     `json:"classes,omitempty"`
	Confusion       []wireCell   `json:"confusion,omitempty"`
	Correct         int64        `json:"correct,omitempty"`
	Unpredicted     int64        `json:"unpredicted,omitempty"`
	Scores          []wireScore  `json:"scores,omitempty"`
	PredScores      []wireMean   `json:"pred_scores,omitempty"`
	OffGridScores   int64        `json:"off_grid_scores,omitempty"`
	OffGridProba    int64        `json:"off_grid_proba,omitempty"`
	OVR             []wireOVR    `json:"ovr,omitempty"`
	Proba           *wireProba   `json:"proba,omitempty"`
	Regression      *wireRegress `json:"regression,omitempty"`
}

type wireCell struct {
	Label string `json:"l"`
	Pred  string `json:"p"`
	N     int64  `json:"n"`
}

type wireScore struct {
	Label  string     `json:"label"`
	N      int64      `json:"n"`
	Hist   [][2]int64 `json:"hist"`
	CalN   []int64    `json:"cal_n"`
	CalSum []float64  `json:"cal_sum"`
	LogPos float64    `json:"log_pos"`
	LogNeg float64    `json:"log_neg"`
	SqPos  float64    `json:"sq_pos"`
	SqNeg  float64    `json:"sq_neg"`
}

type wireMean struct {
	Class string  `json:"class"`
	N     int64   `json:"n"`
	Sum   float64 `json:"sum"`
}

type wireOVR struct {
	Class string     `json:"class"`
	Pos   [][2]int64 `json:"pos"`
	Neg   [][2]int64 `json:"neg"`
}

type wireProba struct {
	Rows       int64     `json:"rows"`
	Log        float64   `json:"log"`
	Brier      float64   `json:"brier"`
	Width      int       `json:"width"`
	TopN       []int64   `json:"top_n"`
	TopSum     []float64 `json:"top_sum"`
	TopCorrect []int64   `json:"top_correct"`
}

type wireRegress struct {
	N      int64   `json:"n"`
	SumAbs float64 `json:"sum_abs"`
	SumSq  float64 `json:"sum_sq"`
	SumAP  float64 `json:"sum_ape"`
	Shift  float64 `json:"shift"`
	SumD   float64 `json:"sum_d"`
	SumD2  float64 `json:"sum_d2"`
}

// Encode returns s as JSON; Decode reads it back.
func (s *State) Encode() ([]byte, error) {
	w := wire{Version: encodingVersion, ScoreBins: s.bins, CalibrationBins: s.calBins,
		Predictions: s.predictions, Labeled: s.labeled, Invalid: s.invalid, Classes: s.classes,
		Correct: s.correct, Unpredicted: s.unpredicted, OffGridScores: s.offGridScores, OffGridProba: s.offGridProba}
	s.confusion.each(func(l, p string, n int64) { w.Confusion = append(w.Confusion, wireCell{l, p, n}) })
	sort.Slice(w.Confusion, func(i, j int) bool {
		a, b := w.Confusion[i], w.Confusion[j]
		return a.Label < b.Label || (a.Label == b.Label && a.Pred < b.Pred)
	})
	for _, l := range sortedKeys(s.scores) {
		a := s.scores[l]
		w.Scores = append(w.Scores, wireScore{Label: l, N: a.n, Hist: sparse(a.hist), CalN: a.calN, CalSum: a.calSum,
			LogPos: a.logPos, LogNeg: a.logNeg, SqPos: a.sqPos, SqNeg: a.sqNeg})
	}
	for _, c := range sortedKeys(s.predScores) {
		a := s.predScores[c]
		w.PredScores = append(w.PredScores, wireMean{Class: c, N: a.n, Sum: a.sum})
	}
	for _, c := range sortedKeys(s.ovr) {
		a := s.ovr[c]
		w.OVR = append(w.OVR, wireOVR{Class: c, Pos: sparse(a.pos), Neg: sparse(a.neg)})
	}
	if s.probaRows > 0 {
		w.Proba = &wireProba{Rows: s.probaRows, Log: s.probaLog, Brier: s.probaBrier, Width: s.probaWidth,
			TopN: s.topN, TopSum: s.topSum, TopCorrect: s.topCorrect}
	}
	if r := s.reg; r.n > 0 {
		w.Regression = &wireRegress{N: r.n, SumAbs: r.sumAbs, SumSq: r.sumSq, SumAP: r.sumAP, Shift: r.shift, SumD: r.sumD, SumD2: r.sumD2}
	}
	return json.Marshal(w)
}

// Decode reads a state Encode wrote. It checks every count and length, so
// hostile bytes give an error, never a panic or a state that breaks
// Merge or Metrics.
func Decode(b []byte) (*State, error) {
	if len(b) > MaxEncodedBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", errCorrupt, len(b), MaxEncodedBytes)
	}
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if w.Version != encodingVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", errCorrupt, w.Version, encodingVersion)
	}
	o, err := Options{ScoreBins: w.ScoreBins, CalibrationBins: w.CalibrationBins}.withDefaults()
	if err != nil || w.ScoreBins == 0 || w.CalibrationBins == 0 {
		return nil, fmt.Errorf("%w: bins %d/%d", errCorrupt, w.ScoreBins, w.CalibrationBins)
	}
	s := newState(o.ScoreBins, o.CalibrationBins)
	bad := func(format string, args ...any) (*State, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{errCorrupt}, args...)...)
	}
	if w.Predictions < 0 || w.Labeled < 0 || w.Labeled > w.Predictions || w.Invalid < 0 || w.Correct < 0 || w.Unpredicted < 0 {
		return bad("negative or inconsistent counts")
	}
	if w.OffGridScores < 0 || w.OffGridProba < 0 {
		return bad("negative off-grid counts")
	}
	s.predictions, s.labeled, s.invalid, s.correct, s.unpredicted = w.Predictions, w.Labeled, w.Invalid, w.Correct, w.Unpredicted
	s.offGridScores, s.offGridProba = w.OffGridScores, w.OffGridProba
	if len(w.Classes) > MaxClasses {
		return bad("%d classes, more than %d", len(w.Classes), MaxClasses)
	}
	for i, c := range w.Classes {
		if len(c) > MaxClassBytes || c == OtherClass || (i > 0 && w.Classes[i-1] >= c) {
			return bad("class %d: not a kept class name in ascending order", i)
		}
	}
	s.classes = append([]string(nil), w.Classes...)
	known := func(c string) bool { return c == OtherClass || s.key(c) == c }
	var cells int64
	for _, c := range w.Confusion {
		if !known(c.Label) || !known(c.Pred) || c.N <= 0 {
			return bad("confusion cell %q/%q", c.Label, c.Pred)
		}
		if s.confusion.get(c.Label, c.Pred) != 0 {
			return bad("confusion cell %q/%q twice", c.Label, c.Pred)
		}
		s.confusion.add(c.Label, c.Pred, c.N)
		if cells += c.N; cells < 0 || cells > s.labeled {
			return bad("confusion counts exceed the labeled rows")
		}
	}
	if s.correct > cells {
		return bad("more correct rows than classified ones")
	}
	for _, ws := range w.Scores {
		if !known(ws.Label) || s.scores[ws.Label] != nil {
			return bad("scores of %q", ws.Label)
		}
		a := s.newScoreAcc()
		if err := dense(a.hist, ws.Hist, ws.N); err != nil {
			return bad("scores of %q: %v", ws.Label, err)
		}
		if len(ws.CalN) != s.calBins || len(ws.CalSum) != s.calBins || sum(ws.CalN) != ws.N {
			return bad("scores of %q: calibration bins", ws.Label)
		}
		if !nonNegative(append([]float64{ws.LogPos, ws.LogNeg, ws.SqPos, ws.SqNeg}, ws.CalSum...)...) {
			return bad("scores of %q: negative sums", ws.Label)
		}
		copy(a.calN, ws.CalN)
		copy(a.calSum, ws.CalSum)
		a.n, a.logPos, a.logNeg, a.sqPos, a.sqNeg = ws.N, ws.LogPos, ws.LogNeg, ws.SqPos, ws.SqNeg
		s.scores[ws.Label] = a
	}
	for _, m := range w.PredScores {
		if !known(m.Class) || s.predScores[m.Class] != nil || m.N <= 0 || m.N > s.labeled || !(m.Sum >= 0 && m.Sum <= float64(m.N)) {
			return bad("scores of predicted %q", m.Class)
		}
		s.predScores[m.Class] = &meanAcc{n: m.N, sum: m.Sum}
	}
	for _, wo := range w.OVR {
		if wo.Class == OtherClass || !known(wo.Class) || s.ovr[wo.Class] != nil {
			return bad("probabilities of %q", wo.Class)
		}
		a := &ovrAcc{pos: make([]int64, s.bins+1), neg: make([]int64, s.bins+1)}
		if err := dense(a.pos, wo.Pos, -1); err != nil {
			return bad("probabilities of %q: %v", wo.Class, err)
		}
		if err := dense(a.neg, wo.Neg, -1); err != nil {
			return bad("probabilities of %q: %v", wo.Class, err)
		}
		s.ovr[wo.Class] = a
	}
	if p := w.Proba; p != nil {
		if p.Rows <= 0 || p.Width <= 0 || len(p.TopN) != s.calBins || len(p.TopSum) != s.calBins || len(p.TopCorrect) != s.calBins ||
			sum(p.TopN) != p.Rows || sum(p.TopCorrect) < 0 {
			return bad("probabilities: counts")
		}
		for i := range p.TopN {
			if p.TopCorrect[i] < 0 || p.TopCorrect[i] > p.TopN[i] {
				return bad("probabilities: calibration bin %d", i)
			}
		}
		if !nonNegative(append([]float64{p.Log, p.Brier}, p.TopSum...)...) {
			return bad("probabilities: negative sums")
		}
		s.probaRows, s.probaLog, s.probaBrier, s.probaWidth = p.Rows, p.Log, p.Brier, p.Width
		copy(s.topN, p.TopN)
		copy(s.topSum, p.TopSum)
		copy(s.topCorrect, p.TopCorrect)
	}
	if r := w.Regression; r != nil {
		if r.N <= 0 || r.N > s.labeled {
			return bad("regression: %d rows", r.N)
		}
		if !nonNegative(r.SumAbs, r.SumSq, r.SumAP, r.SumD2) || math.Abs(r.Shift) > MaxValue {
			return bad("regression: negative sums")
		}
		s.reg = regAcc{n: r.N, sumAbs: r.SumAbs, sumSq: r.SumSq, sumAP: r.SumAP, shift: r.Shift, sumD: r.SumD, sumD2: r.SumD2}
	}
	return s, nil
}

// sparse lists h's non-zero bins as [bin, count] pairs.
func sparse(h []int64) [][2]int64 {
	out := [][2]int64{}
	for i, c := range h {
		if c != 0 {
			out = append(out, [2]int64{int64(i), c})
		}
	}
	return out
}

// dense fills h from sparse pairs with ascending bins and positive counts
// summing to want (any sum when want < 0).
func dense(h []int64, pairs [][2]int64, want int64) error {
	var total int64
	last := int64(-1)
	for _, p := range pairs {
		if p[0] <= last || p[0] >= int64(len(h)) || p[1] <= 0 {
			return fmt.Errorf("bin %d: out of order, out of range or not positive", p[0])
		}
		last = p[0]
		h[p[0]] = p[1]
		if total += p[1]; total < 0 {
			return fmt.Errorf("counts overflow")
		}
	}
	if want >= 0 && total != want {
		return fmt.Errorf("histogram holds %d rows, want %d", total, want)
	}
	return nil
}

func sum(xs []int64) int64 {
	var t int64
	for _, x := range xs {
		if x < 0 {
			return -1
		}
		if t += x; t < 0 {
			return -1
		}
	}
	return t
}

func nonNegative(xs ...float64) bool {
	for _, x := range xs {
		if !(x >= 0) {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
