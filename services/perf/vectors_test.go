package perf

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/driftline/driftline/schemas"
)

// vectors is testdata/perf_vectors.json, which
// tools/testvectors/perf_vectors.py writes with scikit-learn's values.
type vectors struct {
	ScoreBins       int          `json:"score_bins"`
	CalibrationBins int          `json:"calibration_bins"`
	Cases           []vectorCase `json:"cases"`
	McNemar         []struct {
		B, C      int64
		Exact     bool
		Statistic float64
		PValue    float64 `json:"p_value"`
	} `json:"mcnemar"`
}

type vectorCase struct {
	Name       string               `json:"name"`
	Kind       string               `json:"kind"`
	Positive   string               `json:"positive"`
	Label      []*string            `json:"label"`
	Pred       []*string            `json:"pred"`
	Score      []*float64           `json:"score"`
	Proba      map[string][]float64 `json:"proba"`
	LabelValue []*float64           `json:"label_value"`
	PredValue  []float64            `json:"pred_value"`
	Expected   map[string]any       `json:"expected"`
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/perf_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.ScoreBins != DefaultScoreBins || v.CalibrationBins != DefaultCalibrationBins {
		t.Fatalf("vectors for %d/%d bins, the defaults are %d/%d", v.ScoreBins, v.CalibrationBins, DefaultScoreBins, DefaultCalibrationBins)
	}
	return v
}

// rows returns the case's rows as Add takes them.
func (c vectorCase) rows() []row {
	n := max(len(c.Label), len(c.LabelValue))
	out := make([]row, n)
	for i := range out {
		r := &out[i]
		if c.Label != nil {
			r.label = c.Label[i]
		}
		if c.Pred != nil {
			r.p.Class = c.Pred[i]
		}
		if c.Score != nil {
			r.p.Score = c.Score[i]
		}
		if c.Proba != nil {
			r.p.Probabilities = map[string]float64{}
			for k, ps := range c.Proba {
				r.p.Probabilities[k] = ps[i]
			}
		}
		if c.LabelValue != nil {
			r.value = c.LabelValue[i]
			v := c.PredValue[i]
			r.p.Value = &v
		}
	}
	return out
}

type row struct {
	p     schemas.Prediction
	label *string
	value *float64
}

func stateOf(t testing.TB, rows []row) *State {
	t.Helper()
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		s.Add(r.p, r.label, r.value)
	}
	return s
}

// metricMap indexes metrics by name, and per-class ones by name/class.
func metricMap(ms []Metric) map[string]Metric {
	out := map[string]Metric{}
	for _, m := range ms {
		k := m.Name
		if m.Class != "" {
			k += "/" + m.Class
		}
		out[k] = m
	}
	return out
}

// near reports whether got is within tol of want, relative to want's
// magnitude when that exceeds 1.
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// Every metric against scikit-learn. Counts are exact; metrics from sums
// agree to 1e-12 relative (float rounding in a different order); ROC AUC
// and PR AUC equal sklearn's on the scores rounded to the grid, and are
// within the reported bound of sklearn's on the raw scores.
func TestAgainstScikitLearn(t *testing.T) {
	const tol = 1e-12
	v := loadVectors(t)
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			s := stateOf(t, c.rows())
			got := metricMap(s.Metrics(c.Positive))
			if c.Kind == "binary" && s.labeled > 0 && s.Positive("") != c.Positive {
				t.Errorf("default positive class %q, sklearn's %q", s.Positive(""), c.Positive)
			}
			check := func(key string, want float64) {
				t.Helper()
				m, ok := got[key]
				if !ok {
					t.Errorf("%s: absent, want %v", key, want)
					return
				}
				if !near(m.Value, want, tol) {
					t.Errorf("%s = %v, sklearn %v (diff %g)", key, m.Value, want, m.Value-want)
				}
			}
			for name, want := range c.Expected {
				switch w := want.(type) {
				case nil: // undefined in sklearn: absent here
					if m, ok := got[name]; ok {
						t.Errorf("%s = %v, want absent (sklearn: undefined)", name, m.Value)
					}
				case map[string]any:
					for class, x := range w {
						if c.Kind == "classes" && class >= "c100" {
							continue // pooled under OtherClass
						}
						check(name+"/"+class, x.(float64))
					}
				case float64:
					switch {
					case strings.HasSuffix(name, "_binned"):
						check(strings.TrimSuffix(name, "_binned"), w)
					case name == MetricROCAUC || name == MetricPRAUC:
						m, ok := got[name]
						if !ok {
							t.Errorf("%s: absent, want %v", name, w)
							break
						}
						if d := math.Abs(m.Value - w); d > m.Error+tol {
							t.Errorf("%s = %v, sklearn on raw scores %v: off by %g, more than the bound %g", name, m.Value, w, d, m.Error)
						} else {
							t.Logf("%s: off by %.3g, bound %.3g", name, d, m.Error)
						}
					case c.Kind == "classes" && strings.HasPrefix(name, "macro_"):
						// Pooled classes count as one: not sklearn's macro.
					default:
						check(name, w)
					}
				}
			}
			// Nothing beyond what sklearn defines, apart from the bounds'
			// companions and the coverage.
			for key := range got {
				name, _, _ := strings.Cut(key, "/")
				if _, ok := c.Expected[name]; !ok && name != MetricLabelCoverage {
					t.Errorf("%s: not in the vectors", key)
				}
			}
		})
	}
}

// On scores that lie on the grid the binning is exact: the value equals
// sklearn's on the raw scores and the reported error is 0; on continuous
// scores the bound is not trivially zero.
func TestCurveBounds(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Cases {
		if c.Kind != "binary" && c.Kind != "multiclass" {
			continue
		}
		got := metricMap(stateOf(t, c.rows()).Metrics(c.Positive))
		for _, name := range []string{MetricROCAUC, MetricPRAUC} {
			raw, ok := c.Expected[name].(float64)
			if !ok {
				continue
			}
			binned := c.Expected[name+"_binned"].(float64)
			m := got[name]
			onGrid := raw == binned
			if c.Name == "binary_grid" || c.Name == "binary_ties" {
				if !onGrid {
					t.Errorf("%s %s: the vectors' scores are not on the grid", c.Name, name)
				}
				if !near(m.Value, raw, 1e-12) || m.Error != 0 {
					t.Errorf("%s %s = %v, error %v; want sklearn's %v exactly, error 0", c.Name, name, m.Value, m.Error, raw)
				}
			}
			if c.Name == "binary_raw" && m.Error == 0 {
				t.Errorf("%s %s: zero bound on continuous scores", c.Name, name)
			}
			if m.Error < 0 || m.Error > 1 {
				t.Errorf("%s %s: bound %v", c.Name, name, m.Error)
			}
		}
	}
}

func TestManyClassesPoolsOther(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Cases {
		if c.Name != "many_classes" {
			continue
		}
		s := stateOf(t, c.rows())
		cls := s.Classes()
		if len(cls) != MaxClasses+1 || cls[0] != "c000" || cls[MaxClasses-1] != "c099" || cls[MaxClasses] != OtherClass {
			t.Fatalf("classes %v..., want c000..c099 and %s", cls[:3], OtherClass)
		}
		var other, total int64
		for _, l := range s.Classes() {
			for _, p := range s.Classes() {
				n := s.Confusion(l, p)
				total += n
				if l == OtherClass || p == OtherClass {
					other += n
				}
			}
		}
		if total != int64(len(c.Label)) || other == 0 {
			t.Errorf("confusion holds %d rows (%d under other), want %d", total, other, len(c.Label))
		}
	}
}

// McNemar against scipy.stats.binomtest (exact) and scipy.stats.chi2.sf
// with continuity correction, which statsmodels' mcnemar agrees with.
func TestMcNemarAgainstScipy(t *testing.T) {
	v := loadVectors(t)
	for _, m := range v.McNemar {
		got := McNemar(m.B, m.C, m.Exact)
		if got.B != m.B || got.C != m.C || got.Exact != m.Exact {
			t.Errorf("b=%d c=%d: counts %+v", m.B, m.C, got)
		}
		if !near(got.Statistic, m.Statistic, 1e-12) {
			t.Errorf("b=%d c=%d exact=%v: statistic %v, want %v", m.B, m.C, m.Exact, got.Statistic, m.Statistic)
		}
		// Relative: the small p-values matter.
		if math.Abs(got.PValue-m.PValue) > 1e-12*m.PValue+1e-300 {
			t.Errorf("b=%d c=%d exact=%v: p %v, scipy %v", m.B, m.C, m.Exact, got.PValue, m.PValue)
		}
		if m.B+m.C < ExactBelow == m.Exact {
			p := Paired{Both: 5, OnlyA: m.B, OnlyB: m.C, Neither: 2}
			if auto := p.McNemar(); auto != got {
				t.Errorf("b=%d c=%d: Paired.McNemar %+v, want %+v", m.B, m.C, auto, got)
			}
		}
	}
}
