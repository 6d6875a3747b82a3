package stats_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/reference"
	"github.com/driftline/driftline/services/stats"
)

func profileFrom(t *testing.T, col reference.Column) *schemas.FeatureProfile {
	t.Helper()
	p, err := reference.FromColumns("m", "1", []reference.Column{col})
	if err != nil {
		t.Fatal(err)
	}
	if err := stats.ValidateProfile(&p.Features[0]); err != nil {
		t.Fatal(err)
	}
	return &p.Features[0]
}

func repeat(x float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = x
	}
	return out
}

func byMetric(t *testing.T, rs []stats.Result) map[string]stats.Result {
	t.Helper()
	m := map[string]stats.Result{}
	for _, r := range rs {
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.PValue != nil && (math.IsNaN(*r.PValue) || math.IsInf(*r.PValue, 0)) {
			t.Errorf("non-finite result %+v", r)
		}
		if _, dup := m[r.Metric]; dup {
			t.Errorf("metric %s twice", r.Metric)
		}
		m[r.Metric] = r
	}
	return m
}

func verdictOf(t *testing.T, rs []stats.Result) stats.Result {
	t.Helper()
	var v []stats.Result
	for _, r := range rs {
		if r.Verdict {
			v = append(v, r)
		}
	}
	if len(v) != 1 {
		t.Fatalf("%d verdicts in %+v", len(v), rs)
	}
	return v[0]
}

func TestDriftConstantColumn(t *testing.T) {
	p := profileFrom(t, reference.Column{Name: "c", Numbers: repeat(3, 200)})
	if len(p.BinEdges) != 0 || len(p.BinCounts) != 1 || p.Std != 0 || p.UniqueCount != 1 {
		t.Fatalf("constant profile: %+v", p)
	}
	for _, tc := range []struct {
		name    string
		current []float64
		drift   bool
	}{
		{"same constant", repeat(3, 50), false},
		{"another constant", repeat(4, 50), true},
		{"partly below", append(repeat(3, 40), repeat(2, 10)...), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stats.NewSketch(p)
			for _, x := range tc.current {
				s.AddFloat64(x)
			}
			rs := stats.Drift(p, s)
			m := byMetric(t, rs)
			v := verdictOf(t, rs)
			if v.Metric != stats.MetricChi2 || v.Detected != tc.drift {
				t.Errorf("verdict %+v, want chi2 detected=%v", v, tc.drift)
			}
			if !tc.drift {
				for _, k := range []string{stats.MetricPSI, stats.MetricKS, stats.MetricWasserstein, stats.MetricJensenShannon, stats.MetricChi2} {
					if m[k].Value != 0 {
						t.Errorf("%s = %v, want 0", k, m[k].Value)
					}
				}
				if *m[stats.MetricKS].PValue != 1 || *m[stats.MetricChi2].PValue != 1 {
					t.Errorf("p-values %v %v, want 1", *m[stats.MetricKS].PValue, *m[stats.MetricChi2].PValue)
				}
				return
			}
			if w := m[stats.MetricWasserstein].Value; !close(w, math.Abs(3-mean(tc.current)), 1e-12, 0) {
				t.Errorf("wasserstein %v, want the mean shift %v", w, math.Abs(3-mean(tc.current)))
			}
			for _, k := range []string{stats.MetricPSI, stats.MetricWassersteinNormed, stats.MetricJensenShannon} {
				if !m[k].Detected {
					t.Errorf("%s = %v not detected", k, m[k].Value)
				}
			}
		})
	}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func TestDriftMissingAndEmpty(t *testing.T) {
	allMissing := profileFrom(t, reference.Column{Name: "x", Numbers: repeat(math.NaN(), 20)})
	if allMissing.Count != 0 || allMissing.Missing != 20 || len(allMissing.BinCounts) != 1 {
		t.Fatalf("all-missing profile: %+v", allMissing)
	}
	normal := numericProfile(t, 300, 1)
	for _, tc := range []struct {
		name   string
		p      *schemas.FeatureProfile
		values []any
		want   []string // metrics returned
		miss   float64
	}{
		{"empty window", normal, nil, nil, 0},
		{"only mismatches", normal, []any{"a", true}, nil, 0},
		{"only missing", normal, []any{nil, math.NaN(), nil}, []string{stats.MetricMissingShare}, 1},
		{"missing and mismatches", normal, []any{nil, "a"}, []string{stats.MetricMissingShare}, 0.5},
		{"all-missing reference, values", allMissing, []any{1.0, 2.0}, nil, 0},
		{"all-missing reference, missing", allMissing, []any{1.0, nil}, []string{stats.MetricMissingShare}, 0.5},
		{"single value", normal, []any{0.3}, []string{stats.MetricPSI, stats.MetricKS, stats.MetricWasserstein,
			stats.MetricWassersteinNormed, stats.MetricJensenShannon, stats.MetricMissingShare}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := stats.Drift(tc.p, sketchOf(tc.p, tc.values))
			m := byMetric(t, rs)
			var got []string
			for _, r := range rs {
				got = append(got, r.Metric)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("metrics %v, want %v", got, tc.want)
			}
			if r, ok := m[stats.MetricMissingShare]; ok && r.Value != tc.miss {
				t.Errorf("missing_share %v, want %v", r.Value, tc.miss)
			}
			if len(tc.want) > 1 {
				verdictOf(t, rs)
			}
		})
	}
}

// Values near the float range must neither overflow a state into
// infinities nor give non-finite statistics.
func TestDriftExtremeValues(t *testing.T) {
	p := profileFrom(t, reference.Column{Name: "x", Numbers: []float64{-math.MaxFloat64, -1e300, 0, 1, 1e300, math.MaxFloat64}})
	if err := stats.ValidateProfile(p); err != nil {
		t.Fatal(err)
	}
	s := stats.NewSketch(p)
	for _, x := range []float64{math.MaxFloat64, math.MaxFloat64, -math.MaxFloat64, 1e200, 5e-324} {
		s.AddFloat64(x)
	}
	st := s.State()
	if math.IsInf(st.Sum, 0) || math.IsInf(st.SumSquares, 0) {
		t.Fatalf("state overflowed: sum %v, squares %v", st.Sum, st.SumSquares)
	}
	if _, err := stats.FromState(p, st); err != nil {
		t.Fatalf("saturated state rejected: %v", err)
	}
	m := byMetric(t, stats.Drift(p, s))
	if len(m) != 6 {
		t.Errorf("results %v", m)
	}
}

func TestDriftCategorical(t *testing.T) {
	ref := strings.Split(strings.Repeat("a,b,c,", 300)+"d", ",")
	p := profileFrom(t, reference.Column{Name: "k", Strings: ref[:len(ref)-1]})
	t.Run("unseen and overflow", func(t *testing.T) {
		s := stats.NewSketch(p)
		for i := 0; i < 300; i++ {
			s.AddString("a")
			s.AddString("b")
		}
		for i := 0; i < 3*stats.MaxCategories; i++ { // unseen, beyond the cap
			s.AddString(fmt.Sprint("z", i))
		}
		rs := stats.Drift(p, s)
		m := byMetric(t, rs)
		if got := m[stats.MetricUnseenShare].Value; !close(got, 5.0/6, 1e-15, 0) {
			t.Errorf("unseen_share %v, want 5/6", got)
		}
		if st := s.State(); st.Other != 2*stats.MaxCategories || len(st.Categories) != 2+stats.MaxCategories {
			t.Errorf("kept %d categories, other %d", len(st.Categories), st.Other)
		}
		if v := verdictOf(t, rs); v.Metric != stats.MetricChi2 || !v.Detected {
			t.Errorf("verdict %+v", v)
		}
	})
	t.Run("capped reference", func(t *testing.T) {
		var many []string
		for i := 0; i < stats.MaxCategories+500; i++ {
			for j := 0; j < 1+i%3; j++ {
				many = append(many, fmt.Sprint("v", i))
			}
		}
		p := profileFrom(t, reference.Column{Name: "k", Strings: many})
		if len(p.Categories) != stats.MaxCategories+1 || p.Categories[stats.OtherCategory] == 0 || p.UniqueCount != stats.MaxCategories+500 {
			t.Fatalf("capped profile: %d categories, other %d, unique %d", len(p.Categories), p.Categories[stats.OtherCategory], p.UniqueCount)
		}
		s := sketchOf(p, anySlice(many))
		m := byMetric(t, stats.Drift(p, s))
		// The same data: every statistic says no drift, and the values the
		// reference pooled count as "unseen" (the documented upper bound).
		if m[stats.MetricPSI].Value > 1e-12 || m[stats.MetricJensenShannon].Value > 1e-9 || *m[stats.MetricChi2].PValue < 0.999 {
			t.Errorf("same data drifts: %+v", m)
		}
		if got, want := m[stats.MetricUnseenShare].Value, float64(p.Categories[stats.OtherCategory])/float64(p.Count); !close(got, want, 1e-12, 0) {
			t.Errorf("unseen_share %v, want %v", got, want)
		}
	})
}

func anySlice(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func TestDefaultTest(t *testing.T) {
	num := func(unique int64) *schemas.FeatureProfile {
		return &schemas.FeatureProfile{Kind: schemas.KindNumeric, UniqueCount: unique}
	}
	cat := &schemas.FeatureProfile{Kind: schemas.KindCategorical, UniqueCount: 40}
	for _, tc := range []struct {
		p      *schemas.FeatureProfile
		rows   int64
		metric string
		th     float64
	}{
		{num(6), 1000, stats.MetricKS, 0.05},
		{num(5), 1000, stats.MetricChi2, 0.05},
		{num(2), 10, stats.MetricChi2, 0.05},
		{cat, 1000, stats.MetricChi2, 0.05},
		{num(6), 1001, stats.MetricWassersteinNormed, 0.1},
		{num(5), 1001, stats.MetricJensenShannon, 0.1},
		{cat, 5000, stats.MetricJensenShannon, 0.1},
	} {
		m, th := stats.DefaultTest(tc.p, tc.rows)
		if m != tc.metric || th != tc.th {
			t.Errorf("%s unique %d rows %d: %s %v, want %s %v", tc.p.Kind, tc.p.UniqueCount, tc.rows, m, th, tc.metric, tc.th)
		}
	}
}

func TestDatasetDrift(t *testing.T) {
	for _, tc := range []struct {
		verdicts  []bool
		threshold float64
		share     float64
		detected  bool
	}{
		{nil, 0.5, 0, false},
		{[]bool{false, false}, 0.5, 0, false},
		{[]bool{true, false}, 0.5, 0.5, true},
		{[]bool{true, false, false}, 0.5, 1.0 / 3, false},
		{[]bool{true, false, false}, 0.3, 1.0 / 3, true},
		{[]bool{true, false, false, false}, 0, 0.25, false}, // 0: the default 0.5
		{[]bool{true, true}, math.NaN(), 1, true},
	} {
		share, detected := stats.DatasetDrift(tc.verdicts, tc.threshold)
		if share != tc.share || detected != tc.detected {
			t.Errorf("DatasetDrift(%v, %v) = %v, %v; want %v, %v", tc.verdicts, tc.threshold, share, detected, tc.share, tc.detected)
		}
	}
}

func TestValidateProfile(t *testing.T) {
	good := numericProfile(t, 500, 1)
	if err := stats.ValidateProfile(good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*schemas.FeatureProfile)
	}{
		{"no name", func(p *schemas.FeatureProfile) { p.Name = "" }},
		{"unknown kind", func(p *schemas.FeatureProfile) { p.Kind = "text" }},
		{"unsorted edges", func(p *schemas.FeatureProfile) { p.BinEdges[0], p.BinEdges[1] = p.BinEdges[1], p.BinEdges[0] }},
		{"NaN edge", func(p *schemas.FeatureProfile) { p.QuantileEdges[3] = math.NaN() }},
		{"counts length", func(p *schemas.FeatureProfile) { p.BinCounts = p.BinCounts[1:] }},
		{"counts sum", func(p *schemas.FeatureProfile) { p.QuantileCounts[0]++ }},
		{"infinite mean", func(p *schemas.FeatureProfile) { p.Mean = math.Inf(1) }},
		{"negative std", func(p *schemas.FeatureProfile) { p.Std = -1 }},
		{"categories on numeric", func(p *schemas.FeatureProfile) { p.Categories = map[string]int64{"a": 0} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := *good
			p.BinEdges = append([]float64(nil), good.BinEdges...)
			p.BinCounts = append([]int64(nil), good.BinCounts...)
			p.QuantileEdges = append([]float64(nil), good.QuantileEdges...)
			p.QuantileCounts = append([]int64(nil), good.QuantileCounts...)
			tc.mutate(&p)
			if stats.ValidateProfile(&p) == nil {
				t.Error("accepted")
			}
			// A sketch of a bad profile must not panic, and Drift returns
			// no drift statistics for it.
			s := stats.NewSketch(&p)
			s.Add(0.5)
			s.Add(nil)
			for _, r := range stats.Drift(&p, s) {
				if r.Metric != stats.MetricMissingShare {
					t.Errorf("drift statistic %s for an invalid profile", r.Metric)
				}
			}
		})
	}
}
