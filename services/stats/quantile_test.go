package stats_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/stats"
)

// quantileState returns the state of a numeric sketch of values.
func quantileState(p *schemas.FeatureProfile, values ...float64) schemas.FeatureSketch {
	s := stats.NewSketch(p)
	for _, x := range values {
		s.AddFloat64(x)
	}
	return s.State()
}

// The quantile sketch's error bound against the exact order statistics on
// samples of every shape: within QuantileAccuracy of a sample value of rank
// ⌊q(n−1)⌋ or ⌈q(n−1)⌉, and inside [min, max].
func TestQuantileAccuracy(t *testing.T) {
	p := numericProfile(t, 500, 1)
	rng := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct {
		name string
		gen  func() float64
		n    int
	}{
		{"normal", rng.NormFloat64, 5000},
		{"lognormal", func() float64 { return math.Exp(3 * rng.NormFloat64()) }, 20000},
		// e^±13: 11 decades each side, inside the stated 10^17.
		{"both signs, wide", func() float64 { return math.Copysign(math.Exp(3*rng.NormFloat64()), rng.NormFloat64()) }, 20000},
		{"ties", func() float64 { return float64(rng.IntN(4)) }, 3001},
		{"zeros and tiny", func() float64 { return float64(rng.IntN(2)) * 1e-12 }, 1000},
		{"two values", func() float64 { return []float64{-3, 1e6}[rng.IntN(2)] }, 11},
		{"one value", func() float64 { return 42 }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs := make([]float64, tc.n)
			for i := range xs {
				xs[i] = tc.gen()
			}
			s := stats.NewSketch(p)
			for _, x := range xs {
				s.AddFloat64(x)
			}
			slices.Sort(xs)
			for _, q := range []float64{0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
				got, ok := s.Quantile(q)
				if !ok {
					t.Fatalf("no quantile %v", q)
				}
				r := q * float64(len(xs)-1)
				lo, hi := xs[int(math.Floor(r))], xs[int(math.Ceil(r))]
				a := stats.QuantileAccuracy * (1 + 1e-12) // a bucket's value may round just past 1%
				if got < lo-a*math.Abs(lo) || got > hi+a*math.Abs(hi) || got < xs[0] || got > xs[len(xs)-1] {
					t.Errorf("q %v: %v outside [%v, %v] ± %v%%", q, got, lo, hi, 100*a)
				}
			}
		})
	}
}

// Beyond the range the bucket cap covers, the smallest magnitudes are
// merged, memory and the encoded size stay bounded, and the upper
// quantiles keep their accuracy.
func TestQuantileSketchBounded(t *testing.T) {
	p := numericProfile(t, 500, 1)
	rng := rand.New(rand.NewPCG(8, 8))
	s := stats.NewSketch(p)
	xs := make([]float64, 200000)
	for i := range xs {
		xs[i] = math.Exp(8 * rng.NormFloat64()) // e^±39: 34 decades, twice what 2048 buckets cover
		s.AddFloat64(xs[i])
		s.AddFloat64(-xs[i])
	}
	slices.Sort(xs)
	st := s.State()
	if len(st.QuantileSketch) > 40<<10 {
		t.Errorf("encoded sketch of %d bytes", len(st.QuantileSketch))
	}
	back, err := stats.FromState(p, st)
	if err != nil {
		t.Fatal(err)
	}
	// Of the 2n values, the top 2% are the largest 4% of the positive ones,
	// within 10^17 of the largest.
	for _, q := range []float64{0.98, 0.99, 0.999} {
		got, _ := back.Quantile(q)
		want := xs[int(math.Round((2*q-1)*float64(len(xs)-1)))]
		if math.Abs(got-want) > 0.011*want {
			t.Errorf("q %v: %v, want %v within 1%%", q, got, want)
		}
	}
	t.Logf("encoded: %d bytes", len(st.QuantileSketch))
}

// A partial from a writer before quantile sketches has none; a window
// merged from it reports no quantiles rather than quantiles of part of it.
func TestQuantilesFromOldPartials(t *testing.T) {
	p := numericProfile(t, 500, 1)
	old := quantileState(p, 1, 2, 3)
	old.QuantileSketch = nil
	s, err := stats.FromState(p, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Quantile(0.5); ok {
		t.Error("quantile from a state without a sketch")
	}
	merged := stats.NewSketch(p)
	merged.AddFloat64(5)
	if err := merged.Merge(s); err != nil {
		t.Fatal(err)
	}
	if _, ok := merged.Quantile(0.5); ok {
		t.Error("quantile of a window that merged a partial without a sketch")
	}
	for _, r := range stats.Drift(p, merged) {
		if r.Metric == stats.MetricP50 {
			t.Error("p50 reported")
		}
	}
	if merged.State().QuantileSketch != nil {
		t.Error("state of a window without quantiles carries a sketch")
	}
	// An empty old state merges without losing them.
	withQ := stats.NewSketch(p)
	withQ.AddFloat64(5)
	empty, _ := stats.FromState(p, schemas.FeatureSketch{Name: p.Name, Kind: p.Kind,
		BinCounts: make([]int64, len(p.BinEdges)+1), QuantileCounts: make([]int64, len(p.QuantileEdges)+1)})
	if err := withQ.Merge(empty); err != nil {
		t.Fatal(err)
	}
	if v, ok := withQ.Quantile(0.5); !ok || v != 5 {
		t.Errorf("quantile %v %v after merging an empty state, want 5", v, ok)
	}
}

// FromState rejects quantile sketches that could not come from a sketch of
// the state's values, and does not panic or allocate beyond the input.
func TestQuantileSketchRejected(t *testing.T) {
	p := numericProfile(t, 500, 1)
	good := quantileState(p, -2, 0, 0.5, 1, 1, 300)
	cat := categoricalProfile(t, 5)
	catState := sketchOf(cat, []any{"c1"}).State()
	huge := quantileState(p, 1)
	// A positive store in index-deltas-and-counts mode (flag 0x05: type 1,
	// sub-flag 1) with one bucket far outside the mapping's range.
	far := []byte{0x05, 0x01}
	far = binary.AppendVarint(far, 1<<40)
	far = append(far, 0x02) // varfloat 1 (roughly)
	for _, tc := range []struct {
		name   string
		p      *schemas.FeatureProfile
		base   schemas.FeatureSketch
		mutate func(*schemas.FeatureSketch)
	}{
		{"count mismatch", p, good, func(s *schemas.FeatureSketch) { s.QuantileSketch = quantileState(p, 1, 2).QuantileSketch }},
		{"garbage", p, good, func(s *schemas.FeatureSketch) { s.QuantileSketch = []byte{0xff, 0xff, 0xff, 0x01} }},
		{"truncated", p, good, func(s *schemas.FeatureSketch) { s.QuantileSketch = s.QuantileSketch[:len(s.QuantileSketch)-1] }},
		{"too long", p, good, func(s *schemas.FeatureSketch) { s.QuantileSketch = bytes.Repeat([]byte{0}, 1<<17) }},
		{"index out of range", p, huge, func(s *schemas.FeatureSketch) { s.QuantileSketch = far }},
		{"another mapping", p, good, func(s *schemas.FeatureSketch) {
			// flag 0x02 (index mapping, logarithmic), gamma 2, offset 0
			m := []byte{0x02}
			m = binary.LittleEndian.AppendUint64(m, math.Float64bits(2))
			m = binary.LittleEndian.AppendUint64(m, 0)
			s.QuantileSketch = append(m, s.QuantileSketch...)
		}},
		{"categorical with a sketch", cat, catState, func(s *schemas.FeatureSketch) { s.QuantileSketch = good.QuantileSketch }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := copyState(tc.base)
			st.QuantileSketch = slices.Clone(tc.base.QuantileSketch)
			tc.mutate(&st)
			if _, err := stats.FromState(tc.p, st); err == nil {
				t.Error("accepted")
			} else {
				t.Log(err)
			}
		})
	}
	if _, err := stats.FromState(p, good); err != nil {
		t.Errorf("good state rejected: %v", err)
	}
}

// FuzzQuantileSketch feeds arbitrary bytes as the quantile sketch of an
// otherwise valid numeric state, as a hostile partial could: FromState must
// reject them or give a sketch whose quantiles are finite and inside the
// state's range, and that merges.
func FuzzQuantileSketch(f *testing.F) {
	p := numericProfile(f, 300, 1)
	base := quantileState(p, -1, 0, 0.25, 2, 2, 1e6)
	f.Add(base.QuantileSketch)
	f.Add(quantileState(p, 0, 0).QuantileSketch)
	f.Add(quantileState(p, -5, -4).QuantileSketch)
	f.Add([]byte{0x05, 0x01, 0x02, 0x02})
	f.Add([]byte{0x03, 0x02, 0x00, 0x02, 0x04, 0x06})
	f.Fuzz(func(t *testing.T, b []byte) {
		st := copyState(base)
		st.QuantileSketch = b
		s, err := stats.FromState(p, st)
		if err != nil {
			return
		}
		for _, q := range []float64{0, 0.5, 0.99, 1} {
			v, ok := s.Quantile(q)
			if !ok || math.IsNaN(v) || v < st.Min || v > st.Max {
				t.Fatalf("quantile %v = %v, %v", q, v, ok)
			}
		}
		if err := s.Merge(stats.NewSketch(p)); err != nil {
			t.Fatal(err)
		}
		if _, err := stats.FromState(p, s.State()); err != nil {
			t.Fatalf("re-encoded state rejected: %v", err)
		}
	})
}
