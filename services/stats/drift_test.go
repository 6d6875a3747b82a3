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
		name     string
		current  []float64
		drift    bool
		constant float64
		outside  float64
	}{
		{"same constant", repeat(3, 50), false, 1, 0},
		{"another constant", repeat(4, 50), true, 1, 1},
		{"partly below", append(repeat(3, 40), repeat(2, 10)...), true, 0, 0.2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stats.NewSketch(p)
			for _, x := range tc.current {
				s.AddFloat64(x)
			}
			rs := stats.Drift(p, s)
			m := byMetric(t, rs)
			v := verdictOf(t, rs)
			// At most two distinct reference values on a small reference:
			// Evidently's Z-test decides.
			if v.Metric != stats.MetricZ || v.Detected != tc.drift {
				t.Errorf("verdict %+v, want z_test detected=%v", v, tc.drift)
			}
			// The window is constant in the first two cases, but so is the
			// reference: reported, not detected.
			if c := m[stats.MetricConstant]; c.Value != tc.constant || c.Detected {
				t.Errorf("constant %+v, want value %v, not detected", c, tc.constant)
			}
			if r := m[stats.MetricOutOfRangeShare]; r.Value != tc.outside {
				t.Errorf("out_of_range_share %v, want %v", r.Value, tc.outside)
			}
			if !tc.drift {
				for _, k := range []string{stats.MetricPSI, stats.MetricKS, stats.MetricWasserstein, stats.MetricJensenShannon,
					stats.MetricChi2, stats.MetricHellinger, stats.MetricKL, stats.MetricZ} {
					if m[k].Value != 0 {
						t.Errorf("%s = %v, want 0", k, m[k].Value)
					}
				}
				if *m[stats.MetricKS].PValue != 1 || *m[stats.MetricChi2].PValue != 1 || *m[stats.MetricZ].PValue != 1 {
					t.Errorf("p-values %v %v %v, want 1", *m[stats.MetricKS].PValue, *m[stats.MetricChi2].PValue, *m[stats.MetricZ].PValue)
				}
				return
			}
			if w := m[stats.MetricWasserstein].Value; !close(w, math.Abs(3-mean(tc.current)), 1e-12, 0) {
				t.Errorf("wasserstein %v, want the mean shift %v", w, math.Abs(3-mean(tc.current)))
			}
			for _, k := range []string{stats.MetricPSI, stats.MetricWassersteinNormed, stats.MetricJensenShannon, stats.MetricHellinger, stats.MetricKL} {
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
	quality := []string{stats.MetricMissingShare, stats.MetricTypeMismatchShare, stats.MetricTypeMismatches}
	drift := []string{stats.MetricPSI, stats.MetricKS, stats.MetricWasserstein, stats.MetricWassersteinNormed,
		stats.MetricJensenShannon, stats.MetricHellinger, stats.MetricKL}
	for _, tc := range []struct {
		name       string
		p          *schemas.FeatureProfile
		values     []any
		want       []string // metrics returned
		miss, mism float64
	}{
		{"empty window", normal, nil, nil, 0, 0},
		{"only mismatches", normal, []any{"a", true}, quality, 0, 1},
		{"only missing", normal, []any{nil, math.NaN(), nil}, quality, 1, 0},
		{"missing and mismatches", normal, []any{nil, "a"}, quality, 0.5, 0.5},
		{"all-missing reference, values", allMissing, []any{1.0, 2.0}, quality, 0, 0},
		{"all-missing reference, missing", allMissing, []any{1.0, nil}, quality, 0.5, 0},
		{"single value", normal, []any{0.3}, append(append(drift, quality...), stats.MetricOutOfRangeShare, stats.MetricConstant, stats.MetricP50, stats.MetricP95, stats.MetricP99), 0, 0},
		{"mixed", normal, []any{0.3, "x", nil, 0.4}, append(append(drift, quality...), stats.MetricOutOfRangeShare, stats.MetricConstant, stats.MetricP50, stats.MetricP95, stats.MetricP99), 0.25, 0.25},
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
			if r, ok := m[stats.MetricTypeMismatchShare]; ok && r.Value != tc.mism {
				t.Errorf("type_mismatch_share %v, want %v", r.Value, tc.mism)
			}
			if r, ok := m[stats.MetricTypeMismatches]; ok && r.Value != tc.mism*float64(len(tc.values)) {
				t.Errorf("type_mismatches %v, want %v", r.Value, tc.mism*float64(len(tc.values)))
			}
			// A single value is not a constant column.
			if r, ok := m[stats.MetricConstant]; ok && (r.Value != 0 || r.Detected) {
				t.Errorf("constant %+v", r)
			}
			if len(tc.want) > len(quality) {
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
	if len(m) != 15 {
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
	bin := &schemas.FeatureProfile{Kind: schemas.KindCategorical, UniqueCount: 2}
	for _, tc := range []struct {
		p      *schemas.FeatureProfile
		rows   int64
		metric string
		th     float64
	}{
		{num(6), 1000, stats.MetricKS, 0.05},
		{num(5), 1000, stats.MetricChi2, 0.05},
		{num(3), 10, stats.MetricChi2, 0.05},
		{num(2), 10, stats.MetricZ, 0.05},
		{num(1), 10, stats.MetricZ, 0.05},
		{bin, 1000, stats.MetricZ, 0.05},
		{bin, 1001, stats.MetricJensenShannon, 0.1},
		{num(2), 1001, stats.MetricJensenShannon, 0.1},
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
				if !stats.QualityMetric(r.Metric) {
					t.Errorf("drift statistic %s for an invalid profile", r.Metric)
				}
			}
		})
	}
}

// DriftTest lets a feature's test be chosen instead of DefaultTest; the
// verdict then carries that test's threshold, and Detected follows it.
func TestDriftTestOverride(t *testing.T) {
	num := numericProfile(t, 500, 1)
	cat := categoricalProfile(t, 5)
	bin := profileFrom(t, reference.Column{Name: "b", Kind: schemas.KindCategorical, Strings: strings.Split(strings.Repeat("y,n,n,", 50), ",")[:150]})
	shifted := stats.NewSketch(num)
	for i := 0; i < 400; i++ {
		shifted.AddFloat64(float64(i%40)/40*2 - 1 + 0.3)
	}
	for _, tc := range []struct {
		name    string
		p       *schemas.FeatureProfile
		s       *stats.Sketch
		test    stats.Test
		wantErr string
		th      float64
	}{
		{"default", num, shifted, stats.Test{}, "", stats.PValueThreshold},
		{"psi", num, shifted, stats.Test{Metric: stats.MetricPSI}, "", stats.PSIThreshold},
		{"psi with threshold", num, shifted, stats.Test{Metric: stats.MetricPSI, Threshold: 1e6}, "", 1e6},
		{"hellinger", num, shifted, stats.Test{Metric: stats.MetricHellinger}, "", stats.HellingerThreshold},
		{"kl", num, shifted, stats.Test{Metric: stats.MetricKL, Threshold: 0.01}, "", 0.01},
		{"chi2 on many values", num, shifted, stats.Test{Metric: stats.MetricChi2}, "", stats.PValueThreshold},
		{"ks tiny threshold", num, shifted, stats.Test{Metric: stats.MetricKS, Threshold: 1e-300}, "", 1e-300},
		{"z on a binary category", bin, sketchOf(bin, []any{"y", "y", "n"}), stats.Test{Metric: stats.MetricZ}, "", 0.05},
		{"unknown", num, shifted, stats.Test{Metric: "t_test"}, `"t_test" is not a drift test`, 0},
		{"ks on categories", cat, sketchOf(cat, []any{"c0"}), stats.Test{Metric: stats.MetricKS}, "numeric features only", 0},
		{"z on many values", num, shifted, stats.Test{Metric: stats.MetricZ}, "at most 2 distinct values", 0},
		{"p threshold above 1", num, shifted, stats.Test{Metric: stats.MetricKS, Threshold: 2}, "out of range", 0},
		{"negative threshold", num, shifted, stats.Test{Metric: stats.MetricPSI, Threshold: -1}, "out of range", 0},
		{"NaN threshold", num, shifted, stats.Test{Metric: stats.MetricPSI, Threshold: math.NaN()}, "out of range", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := stats.DriftTest(tc.p, tc.s, tc.test)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v := verdictOf(t, rs)
			want := tc.test.Metric
			if want == "" {
				want, _ = stats.DefaultTest(tc.p, tc.p.Count)
			}
			if v.Metric != want || v.Threshold == nil || *v.Threshold != tc.th {
				t.Fatalf("verdict %+v, want %s at %v", v, want, tc.th)
			}
			detected := v.Value >= tc.th
			if v.PValue != nil {
				detected = *v.PValue < tc.th
			}
			if v.Detected != detected {
				t.Errorf("detected %v for %+v", v.Detected, v)
			}
			// Other statistics keep their default thresholds.
			for _, r := range byMetric(t, rs) {
				if def, ok := stats.Tests()[r.Metric]; ok && !r.Verdict && (r.Threshold == nil || *r.Threshold != def) {
					t.Errorf("%s threshold changed: %+v", r.Metric, r)
				}
			}
		})
	}
}

// The quality metrics of one window: type mismatches, values outside the
// reference range, a constant column.
func TestQualityMetrics(t *testing.T) {
	num := profileFrom(t, reference.Column{Name: "x", Numbers: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}})
	cat := profileFrom(t, reference.Column{Name: "c", Kind: schemas.KindCategorical, Strings: []string{"a", "b", "a", "c"}})
	for _, tc := range []struct {
		name     string
		p        *schemas.FeatureProfile
		values   []any
		mismatch float64 // share
		outside  float64 // -1: not reported
		constant bool
	}{
		{"inside", num, []any{1.0, 10.0, 5.5, nil}, 0, 0, false},
		{"edges are inside, beyond is out", num, []any{1.0, 10.0, 0.999, math.Nextafter(10, 11), -1e300, 3.0, 3.0, 4.0}, 0, 3.0 / 8, false},
		{"strings in a numeric feature", num, []any{"1.5", 2.0, []byte("x"), 3.0}, 0.5, 0, false},
		{"stuck numeric", num, []any{7.0, 7.0, 7.0, "oops"}, 0.25, 0, true},
		{"stuck out of range", num, []any{0.0, 0.0}, 0, 1, true},
		{"floats in a categorical feature", cat, []any{"a", 0.5, 2.25, "b"}, 0.5, -1, false},
		{"stuck category", cat, []any{"b", "b", nil, "b"}, 0, -1, true},
		{"stuck unseen category", cat, []any{"z", "z"}, 0, -1, true},
		{"two categories", cat, []any{"z", "a"}, 0, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := byMetric(t, stats.Drift(tc.p, sketchOf(tc.p, tc.values)))
			if r := m[stats.MetricTypeMismatchShare]; r.Value != tc.mismatch {
				t.Errorf("type_mismatch_share %v, want %v", r.Value, tc.mismatch)
			}
			if r := m[stats.MetricTypeMismatches]; r.Value != tc.mismatch*float64(len(tc.values)) {
				t.Errorf("type_mismatches %v", r.Value)
			}
			r, ok := m[stats.MetricOutOfRangeShare]
			if tc.outside < 0 && ok || tc.outside >= 0 && (!ok || !close(r.Value, tc.outside, 1e-15, 0)) {
				t.Errorf("out_of_range_share %v (reported %v), want %v", r.Value, ok, tc.outside)
			}
			c := m[stats.MetricConstant]
			if (c.Value == 1) != tc.constant || c.Detected != tc.constant {
				t.Errorf("constant %+v, want %v", c, tc.constant)
			}
			for k := range m {
				if stats.QualityMetric(k) && m[k].Verdict {
					t.Errorf("quality metric %s is a verdict", k)
				}
			}
		})
	}
}

// A binary reference gets the Z-test, as in Evidently, until the window
// holds a value the reference never had: Evidently then counts three
// values and uses chi-square, and so does Drift, which sees the new value
// drift where the Z-test would pool it with another.
func TestBinaryWithANewValueUsesChiSquare(t *testing.T) {
	var ref []string
	for i := range 800 {
		ref = append(ref, []string{"yes", "no"}[i%2])
	}
	cat := profileFrom(t, reference.Column{Name: "c", Strings: ref})
	num := profileFrom(t, reference.Column{Name: "n", Numbers: append(repeat(0, 400), repeat(1, 400)...)})
	tests := []struct {
		name       string
		p          *schemas.FeatureProfile
		values     []any
		wantTest   string
		wantDetect bool
	}{
		{"categorical, the two values", cat, nTimes([]any{"yes", "no"}, 300), stats.MetricZ, false},
		{"categorical, 5% new", cat, append(nTimes([]any{"yes", "no"}, 285), nTimes([]any{"maybe"}, 30)...), stats.MetricChi2, true},
		{"numeric, the two values", num, nTimes([]any{0.0, 1.0}, 300), stats.MetricZ, false},
		{"numeric, a value between", num, append(nTimes([]any{0.0, 1.0}, 285), nTimes([]any{0.5}, 30)...), stats.MetricChi2, false},
		{"numeric, a value above", num, append(nTimes([]any{0.0, 1.0}, 285), nTimes([]any{2.0}, 30)...), stats.MetricChi2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stats.NewSketch(tt.p)
			for _, v := range tt.values {
				s.Add(v)
			}
			v := verdictOf(t, stats.Drift(tt.p, s))
			if v.Metric != tt.wantTest || v.Detected != tt.wantDetect {
				t.Errorf("verdict %s detected=%v, want %s detected=%v", v.Metric, v.Detected, tt.wantTest, tt.wantDetect)
			}
		})
	}
}

func nTimes(vals []any, n int) []any {
	var out []any
	for range n {
		out = append(out, vals...)
	}
	return out
}
