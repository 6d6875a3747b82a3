package stats_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/reference"
	"github.com/driftline/driftline/services/stats"
)

// numericProfile returns a profile of n standard normal values.
func numericProfile(t testing.TB, n int, seed uint64) *schemas.FeatureProfile {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	p, err := reference.FromColumns("m", "1", []reference.Column{{Name: "x", Numbers: xs}})
	if err != nil {
		t.Fatal(err)
	}
	return &p.Features[0]
}

// categoricalProfile returns a profile with categories c0..c(k-1).
func categoricalProfile(t testing.TB, k int) *schemas.FeatureProfile {
	t.Helper()
	var xs []string
	for i := 0; i < k; i++ {
		for j := 0; j <= i%7; j++ {
			xs = append(xs, fmt.Sprintf("c%d", i))
		}
	}
	p, err := reference.FromColumns("m", "1", []reference.Column{{Name: "city", Strings: xs}})
	if err != nil {
		t.Fatal(err)
	}
	return &p.Features[0]
}

// mixedValues returns values of every kind Add takes, mostly of the
// feature's kind.
func mixedValues(kind string, n int, seed uint64) []any {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([]any, n)
	for i := range out {
		switch r := rng.IntN(100); {
		case r < 3:
			out[i] = nil
		case r < 5:
			out[i] = math.NaN()
		case r < 7:
			out[i] = true
		case r < 9:
			out[i] = int64(rng.IntN(5))
		case r < 10:
			out[i] = []byte("x") // always a mismatch
		case kind == schemas.KindNumeric && r < 12:
			out[i] = "1.5"
		case kind == schemas.KindNumeric:
			out[i] = rng.NormFloat64()*1.3 + 0.2
		case r < 60:
			out[i] = fmt.Sprintf("c%d", rng.IntN(60)) // mostly reference categories
		default:
			// far more unseen categories than a sketch keeps by name
			out[i] = fmt.Sprintf("new-%d", rng.IntN(4000))
		}
	}
	return out
}

func sketchOf(p *schemas.FeatureProfile, values []any) *stats.Sketch {
	s := stats.NewSketch(p)
	for _, v := range values {
		s.Add(v)
	}
	return s
}

// sameState compares two states: everything exactly, except the float
// sums, which merge order can change by rounding.
func sameState(a, b schemas.FeatureSketch) error {
	if !close(a.Sum, b.Sum, 1e-12, 1e-12) || !close(a.SumSquares, b.SumSquares, 1e-12, 1e-12) {
		return fmt.Errorf("sums %v, %v differ from %v, %v", a.Sum, a.SumSquares, b.Sum, b.SumSquares)
	}
	a.Sum, a.SumSquares, b.Sum, b.SumSquares = 0, 0, 0, 0
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("states differ:\n%+v\n%+v", a, b)
	}
	return nil
}

func TestMergeIsAssociativeAndCommutative(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *schemas.FeatureProfile
	}{
		{"numeric", numericProfile(t, 2000, 1)},
		{"categorical", categoricalProfile(t, 60)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := mixedValues(tc.p.Kind, 20000, 3)
			whole := sketchOf(tc.p, values).State()
			if tc.p.Kind == schemas.KindCategorical && whole.Other == 0 {
				t.Fatal("sample does not exercise the category cap")
			}
			rng := rand.New(rand.NewPCG(4, 4))
			for trial := 0; trial < 5; trial++ {
				// Random partition into 1..12 parts of random sizes.
				parts := make([][]any, 1+rng.IntN(12))
				for _, v := range values {
					i := rng.IntN(len(parts))
					parts[i] = append(parts[i], v)
				}
				sketches := func() []*stats.Sketch {
					out := make([]*stats.Sketch, len(parts))
					for i, part := range parts {
						out[i] = sketchOf(tc.p, part)
					}
					return out
				}
				orders := map[string]func() *stats.Sketch{
					"left fold": func() *stats.Sketch {
						ss := sketches()
						acc := stats.NewSketch(tc.p)
						for _, s := range ss {
							mustMerge(t, acc, s)
						}
						return acc
					},
					"right fold": func() *stats.Sketch {
						ss := sketches()
						acc := ss[len(ss)-1]
						for i := len(ss) - 2; i >= 0; i-- {
							mustMerge(t, ss[i], acc)
							acc = ss[i]
						}
						return acc
					},
					"tree": func() *stats.Sketch {
						ss := sketches()
						for len(ss) > 1 {
							var next []*stats.Sketch
							for i := 0; i+1 < len(ss); i += 2 {
								mustMerge(t, ss[i+1], ss[i])
								next = append(next, ss[i+1])
							}
							if len(ss)%2 == 1 {
								next = append(next, ss[len(ss)-1])
							}
							ss = next
						}
						return ss[0]
					},
					"shuffled through State": func() *stats.Sketch {
						ss := sketches()
						rng.Shuffle(len(ss), func(i, j int) { ss[i], ss[j] = ss[j], ss[i] })
						acc := stats.NewSketch(tc.p)
						for _, s := range ss {
							r, err := stats.FromState(tc.p, s.State())
							if err != nil {
								t.Fatal(err)
							}
							mustMerge(t, acc, r)
						}
						return acc
					},
				}
				for name, merge := range orders {
					if err := sameState(merge().State(), whole); err != nil {
						t.Errorf("trial %d, %s (%d parts): %v", trial, name, len(parts), err)
					}
				}
			}
		})
	}
}

func mustMerge(t *testing.T, dst, src *stats.Sketch) {
	t.Helper()
	if err := dst.Merge(src); err != nil {
		t.Fatal(err)
	}
}

func TestMergeRejectsOtherProfiles(t *testing.T) {
	num := numericProfile(t, 100, 1)
	other := numericProfile(t, 100, 2) // same name, different edges
	cat := categoricalProfile(t, 5)
	s := stats.NewSketch(num)
	s.Add(1.0)
	before := s.State()
	for name, o := range map[string]*stats.Sketch{
		"different edges": stats.NewSketch(other),
		"different kind":  stats.NewSketch(cat),
		"nil":             nil,
	} {
		if err := s.Merge(o); err == nil {
			t.Errorf("%s: merged", name)
		}
	}
	if !reflect.DeepEqual(s.State(), before) {
		t.Error("a failed merge changed the sketch")
	}
	// An equal profile at another address merges.
	clone := *num
	if err := s.Merge(stats.NewSketch(&clone)); err != nil {
		t.Errorf("equal profile: %v", err)
	}
}

func TestAddCounts(t *testing.T) {
	num := numericProfile(t, 100, 1)
	cat := categoricalProfile(t, 5)
	long := strings.Repeat("x", stats.MaxCategoryBytes+1)
	type counts struct{ count, missing, mismatches int64 }
	for _, tc := range []struct {
		name string
		p    *schemas.FeatureProfile
		v    any
		want counts
		key  string // categorical: the category it counts under
	}{
		{"numeric nil", num, nil, counts{0, 1, 0}, ""},
		{"numeric NaN", num, math.NaN(), counts{0, 1, 0}, ""},
		{"numeric +Inf", num, math.Inf(1), counts{0, 1, 0}, ""},
		{"numeric float64", num, 1.5, counts{1, 0, 0}, ""},
		{"numeric float32", num, float32(1.5), counts{1, 0, 0}, ""},
		{"numeric int", num, 3, counts{1, 0, 0}, ""},
		{"numeric uint64", num, uint64(3), counts{1, 0, 0}, ""},
		{"numeric string", num, "1.5", counts{0, 0, 1}, ""},
		{"numeric bool", num, true, counts{0, 0, 1}, ""},
		{"numeric other type", num, struct{}{}, counts{0, 0, 1}, ""},
		{"categorical string", cat, "c1", counts{1, 0, 0}, "c1"},
		{"categorical empty string", cat, "", counts{0, 1, 0}, ""},
		{"categorical nil", cat, nil, counts{0, 1, 0}, ""},
		{"categorical bool", cat, false, counts{1, 0, 0}, "false"},
		{"categorical int64", cat, int64(-42), counts{1, 0, 0}, "-42"},
		{"categorical integral float", cat, 7.0, counts{1, 0, 0}, "7"},
		{"categorical fractional float", cat, 7.5, counts{0, 0, 1}, ""},
		{"categorical NaN", cat, math.NaN(), counts{0, 1, 0}, ""},
		{"categorical invalid UTF-8", cat, "\xff", counts{0, 0, 1}, ""},
		{"categorical long unseen", cat, long, counts{1, 0, 0}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stats.NewSketch(tc.p)
			s.Add(tc.v)
			st := s.State()
			if got := (counts{st.Count, st.Missing, st.TypeMismatches}); got != tc.want {
				t.Errorf("counts %+v, want %+v", got, tc.want)
			}
			if tc.key != "" && st.Categories[tc.key] != 1 {
				t.Errorf("categories %v, want %q counted", st.Categories, tc.key)
			}
			if tc.v == long && st.Other != 1 {
				t.Errorf("long category: Other = %d, want 1", st.Other)
			}
		})
	}
}

func TestFromStateRoundTrip(t *testing.T) {
	for _, p := range []*schemas.FeatureProfile{numericProfile(t, 500, 1), categoricalProfile(t, 60)} {
		st := sketchOf(p, mixedValues(p.Kind, 5000, 9)).State()
		s, err := stats.FromState(p, st)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s.State(), st) {
			t.Errorf("%s: state changed in a round trip", p.Kind)
		}
	}
}

func TestFromStateRejectsBadStates(t *testing.T) {
	num := numericProfile(t, 500, 1)
	cat := categoricalProfile(t, 10)
	numState := sketchOf(num, mixedValues(num.Kind, 1000, 5)).State()
	catState := sketchOf(cat, mixedValues(cat.Kind, 1000, 5)).State()
	manyUnseen := map[string]int64{}
	for i := 0; i <= stats.MaxCategories; i++ {
		manyUnseen[fmt.Sprint("u", i)] = 1
	}
	for _, tc := range []struct {
		name   string
		p      *schemas.FeatureProfile
		base   schemas.FeatureSketch
		mutate func(*schemas.FeatureSketch)
	}{
		{"wrong name", num, numState, func(s *schemas.FeatureSketch) { s.Name = "y" }},
		{"wrong kind", num, numState, func(s *schemas.FeatureSketch) { s.Kind = schemas.KindCategorical }},
		{"short bin counts", num, numState, func(s *schemas.FeatureSketch) { s.BinCounts = s.BinCounts[1:] }},
		{"long bin counts", num, numState, func(s *schemas.FeatureSketch) { s.BinCounts = append(s.BinCounts, 0) }},
		{"no quantile counts", num, numState, func(s *schemas.FeatureSketch) { s.QuantileCounts = nil }},
		{"long quantile counts", num, numState, func(s *schemas.FeatureSketch) { s.QuantileCounts = append(s.QuantileCounts, 0) }},
		{"negative bin count", num, numState, func(s *schemas.FeatureSketch) { s.BinCounts[0] = -1; s.BinCounts[1] += 1 }},
		{"bins do not add up", num, numState, func(s *schemas.FeatureSketch) { s.BinCounts[0]++ }},
		{"quantiles do not add up", num, numState, func(s *schemas.FeatureSketch) { s.QuantileCounts[3]-- }},
		{"negative missing", num, numState, func(s *schemas.FeatureSketch) { s.Missing = -1 }},
		{"overflowing counts", num, numState, func(s *schemas.FeatureSketch) { s.Missing = math.MaxInt64 }},
		{"NaN sum", num, numState, func(s *schemas.FeatureSketch) { s.Sum = math.NaN() }},
		{"infinite max", num, numState, func(s *schemas.FeatureSketch) { s.Max = math.Inf(1) }},
		{"min above max", num, numState, func(s *schemas.FeatureSketch) { s.Min, s.Max = s.Max+1, s.Min }},
		{"negative sum of squares", num, numState, func(s *schemas.FeatureSketch) { s.SumSquares = -1 }},
		{"numeric with categories", num, numState, func(s *schemas.FeatureSketch) { s.Categories = map[string]int64{"a": 1} }},
		{"categorical with bins", cat, catState, func(s *schemas.FeatureSketch) { s.BinCounts = []int64{0} }},
		{"categories do not add up", cat, catState, func(s *schemas.FeatureSketch) { s.Other++ }},
		{"negative category", cat, catState, func(s *schemas.FeatureSketch) { s.Categories["c1"] = -s.Categories["c1"] }},
		{"negative other", cat, catState, func(s *schemas.FeatureSketch) { s.Other = -1 }},
		{"invalid UTF-8 category", cat, catState, func(s *schemas.FeatureSketch) { s.Categories["\xff"] = 1; s.Count++ }},
		{"empty category", cat, catState, func(s *schemas.FeatureSketch) { s.Categories[""] = 1; s.Count++ }},
		{"too long unseen category", cat, catState, func(s *schemas.FeatureSketch) {
			s.Categories[strings.Repeat("y", stats.MaxCategoryBytes+1)] = 1
			s.Count++
		}},
		{"too many unseen categories", cat, catState, func(s *schemas.FeatureSketch) {
			s.Categories, s.Count, s.Other = manyUnseen, int64(len(manyUnseen)), 0
		}},
		{"overflowing category counts", cat, catState, func(s *schemas.FeatureSketch) {
			s.Categories = map[string]int64{"c1": math.MaxInt64, "c2": math.MaxInt64}
			s.Count, s.Other = 0, 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := copyState(tc.base)
			tc.mutate(&st)
			if _, err := stats.FromState(tc.p, st); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := stats.FromState(nil, numState); err == nil {
		t.Error("nil profile accepted")
	}
}

func copyState(s schemas.FeatureSketch) schemas.FeatureSketch {
	s.BinCounts = append([]int64(nil), s.BinCounts...)
	s.QuantileCounts = append([]int64(nil), s.QuantileCounts...)
	if s.Categories != nil {
		c := make(map[string]int64, len(s.Categories))
		for k, v := range s.Categories {
			c[k] = v
		}
		s.Categories = c
	}
	return s
}

// FuzzFromState feeds arbitrary states through FromState, Merge and Drift:
// whatever a partial holds must give an error or finite results, never a
// panic.
func FuzzFromState(f *testing.F) {
	num := numericProfile(f, 300, 1)
	cat := categoricalProfile(f, 10)
	f.Add(false, int64(3), int64(1), int64(0), 1.5, 2.5, -1.0, 2.0, []byte{1, 0, 2}, "c1", int64(2), int64(1))
	f.Add(true, int64(3), int64(0), int64(1), 0.0, 0.0, 0.0, 0.0, []byte{}, "new", int64(2), int64(1))
	f.Fuzz(func(t *testing.T, categorical bool, count, missing, mism int64, sum, sumSq, lo, hi float64, bins []byte, key string, keyCount, other int64) {
		p := num
		st := schemas.FeatureSketch{Name: p.Name, Kind: p.Kind, Count: count, Missing: missing, TypeMismatches: mism}
		if categorical {
			p = cat
			st = schemas.FeatureSketch{Name: p.Name, Kind: p.Kind, Count: count, Missing: missing, TypeMismatches: mism,
				Categories: map[string]int64{key: keyCount, "c2": 1}, Other: other}
		} else {
			st.Sum, st.SumSquares, st.Min, st.Max = sum, sumSq, lo, hi
			st.BinCounts = make([]int64, len(p.BinEdges)+1)
			st.QuantileCounts = make([]int64, len(p.QuantileEdges)+1)
			for i, b := range bins {
				st.BinCounts[i%len(st.BinCounts)] += int64(b)
				st.QuantileCounts[(i*7)%len(st.QuantileCounts)] += int64(b)
			}
		}
		s, err := stats.FromState(p, st)
		if err != nil {
			return
		}
		if err := s.Merge(sketchOf(p, mixedValues(p.Kind, 50, 1))); err != nil {
			return
		}
		for _, r := range stats.Drift(p, s) {
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.PValue != nil && (math.IsNaN(*r.PValue) || math.IsInf(*r.PValue, 0)) {
				t.Fatalf("non-finite %+v", r)
			}
		}
	})
}
