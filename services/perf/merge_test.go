package perf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/driftline/driftline/schemas"
)

// randomRows mixes every kind of row: class labels over k classes (some
// beyond MaxClasses, some too long, one spelled like OtherClass), binary
// scores (some invalid), probabilities, regression values (some
// invalid), unlabelled rows.
func randomRows(r *rand.Rand, n, k int) []row {
	name := func() string {
		switch i := r.IntN(k + 2); {
		case i == k:
			return OtherClass
		case i == k+1:
			return strings.Repeat("x", MaxClassBytes+1)
		default:
			return fmt.Sprintf("class-%03d", i)
		}
	}
	out := make([]row, n)
	for i := range out {
		var rw row
		switch r.IntN(6) {
		case 0: // unlabelled
			c := name()
			rw.p.Class = &c
		case 1, 2: // binary score
			l, c := name(), name()
			sc := r.Float64()
			switch r.IntN(20) {
			case 0:
				sc = 1.5
			case 1:
				sc = math.NaN()
			case 2:
				sc = math.Round(sc*1000) / 1000
			}
			rw.label, rw.p.Class, rw.p.Score = &l, &c, &sc
		case 3: // probabilities
			l := name()
			rw.label = &l
			rw.p.Probabilities = map[string]float64{}
			for range 1 + r.IntN(4) {
				rw.p.Probabilities[name()] = r.Float64()
			}
			if r.IntN(30) == 0 {
				rw.p.Probabilities[name()] = -0.1
			}
		default: // regression
			y := r.NormFloat64()*10 + 1000
			f := y + r.NormFloat64()
			switch r.IntN(30) {
			case 0:
				y = 0
			case 1:
				f = math.Inf(1)
			}
			rw.value, rw.p.Value = &y, &f
		}
		out[i] = rw
	}
	return out
}

// approxEqual compares two values field by field: floats within rel
// relative tolerance, everything else exactly.
func approxEqual(a, b reflect.Value, rel float64, path string) error {
	if a.Kind() != b.Kind() {
		return fmt.Errorf("%s: kinds differ", path)
	}
	switch a.Kind() {
	case reflect.Float64:
		x, y := a.Float(), b.Float()
		if math.Abs(x-y) > rel*math.Max(math.Abs(x), math.Abs(y)) {
			return fmt.Errorf("%s: %v != %v", path, x, y)
		}
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Errorf("%s: one is nil", path)
			}
			return nil
		}
		return approxEqual(a.Elem(), b.Elem(), rel, path)
	case reflect.Struct:
		for i := range a.NumField() {
			if err := approxEqual(a.Field(i), b.Field(i), rel, path+"."+a.Type().Field(i).Name); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return fmt.Errorf("%s: lengths %d and %d", path, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if err := approxEqual(a.Index(i), b.Index(i), rel, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return fmt.Errorf("%s: %v != %v", path, a.Interface(), b.Interface())
		}
	}
	return nil
}

// sameState compares two states through their encodings: every count
// exactly, every float sum to rel.
func sameState(t *testing.T, a, b *State, rel float64) error {
	t.Helper()
	var wa, wb wire
	for _, x := range []struct {
		s *State
		w *wire
	}{{a, &wa}, {b, &wb}} {
		enc, err := x.s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(enc, x.w); err != nil {
			t.Fatal(err)
		}
		// The shift is an implementation detail that depends on the
		// order rows came in: compare the mean and the spread instead.
		if rg := x.w.Regression; rg != nil {
			rg.Shift, rg.SumD, rg.SumD2 = 0, x.s.reg.mean(), x.s.reg.ssTot()
		}
	}
	return approxEqual(reflect.ValueOf(wa), reflect.ValueOf(wb), rel, "state")
}

func split(r *rand.Rand, rows []row, parts int) [][]row {
	out := make([][]row, parts)
	for _, rw := range rows {
		i := r.IntN(parts)
		out[i] = append(out[i], rw)
	}
	return out
}

func merged(t *testing.T, states ...*State) *State {
	t.Helper()
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range states {
		if err := s.Merge(o); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// Merge is associative and commutative, and merging the parts of a
// partition gives the state of the whole: counts, classes and histograms
// exactly, float sums to 1e-12 relative. Class counts below and above
// MaxClasses exercise the other bucket.
func TestMergeProperties(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 7))
		k := []int{2, 5, 40, MaxClasses + 30}[seed%4]
		rows := randomRows(r, 200+r.IntN(800), k)
		whole := stateOf(t, rows)
		parts := split(r, rows, 3)
		a, b, c := stateOf(t, parts[0]), stateOf(t, parts[1]), stateOf(t, parts[2])

		left := merged(t, merged(t, a, b), c)  // (a·b)·c
		right := merged(t, a, merged(t, b, c)) // a·(b·c)
		if err := sameState(t, left, right, 1e-12); err != nil {
			t.Fatalf("seed %d: not associative: %v", seed, err)
		}
		if err := sameState(t, left, whole, 1e-12); err != nil {
			t.Fatalf("seed %d: merged parts differ from the whole: %v", seed, err)
		}
		// Commutative; to the bit while no class is pooled, as every sum
		// is then a + b of the same two terms (pooling adds a class's sums
		// to the other bucket's in the order classes are pushed out).
		ab, ba := merged(t, a, b), merged(t, b, a)
		if err := sameState(t, ab, ba, 1e-12); err != nil {
			t.Fatalf("seed %d: not commutative: %v", seed, err)
		}
		abEnc, _ := ab.Encode()
		baEnc, _ := ba.Encode()
		if k <= MaxClasses && !bytes.Equal(abEnc, baEnc) {
			t.Fatalf("seed %d: a·b and b·a encode differently", seed)
		}
		// Merging into a state directly, as level 2 does.
		direct := stateOf(t, parts[2])
		if err := direct.Merge(a); err != nil {
			t.Fatal(err)
		}
		if err := direct.Merge(b); err != nil {
			t.Fatal(err)
		}
		if err := sameState(t, direct, whole, 1e-12); err != nil {
			t.Fatalf("seed %d: c+a+b differs from the whole: %v", seed, err)
		}
		// The metrics agree too.
		wm, dm := metricMap(whole.Metrics("")), metricMap(direct.Metrics(""))
		if len(wm) != len(dm) {
			t.Fatalf("seed %d: %d metrics, merged %d", seed, len(wm), len(dm))
		}
		for key, m := range wm {
			if d := dm[key]; !near(d.Value, m.Value, 1e-9) || d.Count != m.Count {
				t.Errorf("seed %d: %s = %v over %d, merged %v over %d", seed, key, m.Value, m.Count, d.Value, d.Count)
			}
		}
	}
}

func TestMergeRejectsOtherBins(t *testing.T) {
	a, _ := New(Options{})
	b, _ := New(Options{ScoreBins: 100})
	if err := a.Merge(b); err == nil {
		t.Error("merged states of 1000 and 100 score bins")
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []Options{{ScoreBins: -1}, {ScoreBins: MaxScoreBins + 1}, {CalibrationBins: -3}, {CalibrationBins: MaxCalibrationBins + 1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	s, err := New(Options{ScoreBins: 10, CalibrationBins: 4})
	if err != nil || s.ScoreBins() != 10 {
		t.Fatalf("New: %v, %d bins", err, s.ScoreBins())
	}
}

// Invalid scores, probabilities and values count as invalid and in no
// metric; a missing label counts in the predictions only.
func TestInvalidInput(t *testing.T) {
	s, _ := New(Options{})
	one, zero := "1", "0"
	for _, v := range []float64{-0.01, 1.01, math.NaN(), math.Inf(1)} {
		s.Add(schemas.Prediction{Class: &one, Score: &v}, &one, nil)
		s.Add(schemas.Prediction{Probabilities: map[string]float64{"0": 0.5, "1": v}}, &one, nil)
	}
	for _, v := range []float64{math.NaN(), math.Inf(-1), 2 * MaxValue} {
		y := 3.0
		s.Add(schemas.Prediction{Value: &v}, nil, &y)
		s.Add(schemas.Prediction{Value: &y}, nil, &v)
	}
	s.Add(schemas.Prediction{Class: &zero}, nil, nil)
	m := metricMap(s.Metrics(""))
	if m[MetricPredictions].Value != 15 || m[MetricLabeled].Value != 14 || m[MetricInvalid].Value != 14 {
		t.Errorf("predictions %v labeled %v invalid %v, want 15 14 14", m[MetricPredictions].Value, m[MetricLabeled].Value, m[MetricInvalid].Value)
	}
	for _, name := range []string{MetricROCAUC, MetricLogLoss, MetricBrier, MetricMAE, MetricR2} {
		if _, ok := m[name]; ok {
			t.Errorf("%s computed from invalid rows", name)
		}
	}
	// The class predictions of the invalid-score rows still count.
	if a := m[MetricAccuracy]; a.Value != 1 || a.Count != 4 {
		t.Errorf("accuracy %v over %d, want 1 over 4", a.Value, a.Count)
	}
}

// The positive class can be chosen; by default it is the class that sorts
// last.
func TestPositiveClass(t *testing.T) {
	s, _ := New(Options{})
	no, yes := "no", "yes"
	for i := range 10 {
		sc := float64(i) / 10
		l := &no
		if i >= 6 {
			l = &yes
		}
		s.Add(schemas.Prediction{Score: &sc}, l, nil)
	}
	if got := metricMap(s.Metrics(""))[MetricROCAUC].Value; got != 1 {
		t.Errorf("ROC AUC with yes positive: %v, want 1", got)
	}
	if got := metricMap(s.Metrics("no"))[MetricROCAUC].Value; got != 0 {
		t.Errorf("ROC AUC with no positive: %v, want 0", got)
	}
}

// Without an explicit positive class, the scores tell it: the class the
// model predicts with high scores.
func TestPositiveFromPredictions(t *testing.T) {
	tests := []struct {
		name  string
		preds []string // predicted class of scores 0.1, 0.3, 0.7, 0.9
		want  string
	}{
		{"churn predicted with high scores", []string{"stay", "stay", "churn", "churn"}, "churn"},
		{"stay predicted with high scores", []string{"churn", "churn", "stay", "stay"}, "stay"},
		{"only churn, with low scores", []string{"churn", "churn", "", ""}, "stay"},
		{"only stay, with low scores", []string{"stay", "stay", "", ""}, "churn"},
		{"no predicted classes", []string{"", "", "", ""}, "stay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := New(Options{})
			labels := []string{"stay", "churn"}
			for i, sc := range []float64{0.1, 0.3, 0.7, 0.9} {
				p := schemas.Prediction{Score: &sc}
				if tt.preds[i] != "" {
					p.Class = &tt.preds[i]
				}
				s.Add(p, &labels[i%2], nil)
			}
			if got := s.Positive(""); got != tt.want {
				t.Errorf("positive %q, want %q", got, tt.want)
			}
			if got := s.Positive("x"); got != "x" {
				t.Errorf("explicit positive %q, want x", got)
			}
		})
	}
}

// Classes arriving in descending order pool one class per row; the kept
// set is still the smallest names, with complete counts.
func TestDescendingClasses(t *testing.T) {
	s, _ := New(Options{})
	const n = 1000
	for i := n - 1; i >= 0; i-- {
		c := fmt.Sprintf("c%04d", i)
		s.Add(schemas.Prediction{Class: &c}, &c, nil)
		s.Add(schemas.Prediction{Class: &c}, &c, nil)
	}
	cls := s.Classes()
	if len(cls) != MaxClasses+1 || cls[0] != "c0000" || cls[MaxClasses-1] != "c0099" {
		t.Fatalf("classes %v ... %v", cls[:2], cls[len(cls)-2:])
	}
	if got := s.Confusion("c0042", "c0042"); got != 2 {
		t.Errorf("c0042 counted %d times, want 2", got)
	}
	if got := s.Confusion(OtherClass, OtherClass); got != 2*(n-MaxClasses) {
		t.Errorf("other counted %d times, want %d", got, 2*(n-MaxClasses))
	}
	if a := metricMap(s.Metrics(""))[MetricAccuracy]; a.Value != 1 || a.Count != 2*n {
		t.Errorf("accuracy %v over %d, want 1 over %d", a.Value, a.Count, 2*n)
	}
}
