package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/driftline/driftline/schemas"
)

// The guide must give BinIndex's bin for every value, on edge lists of
// every shape a reference can have, at and around the edges too; it
// refuses edges it cannot serve exactly.
func TestBinGuideAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	quantiles := func(n int, draw func() float64) []float64 {
		xs := make([]float64, 20*n)
		for i := range xs {
			xs[i] = draw()
		}
		slices.Sort(xs)
		var edges []float64
		for j := range n {
			if e := xs[j*len(xs)/n]; len(edges) == 0 || e > edges[len(edges)-1] {
				edges = append(edges, e)
			}
		}
		return edges
	}
	shapes := map[string][]float64{
		"normal":       quantiles(100, r.NormFloat64),
		"exponential":  quantiles(100, r.ExpFloat64),
		"lognormal":    quantiles(100, func() float64 { return math.Exp(3 * r.NormFloat64()) }),
		"integers":     quantiles(100, func() float64 { return float64(r.IntN(500)) }),
		"wide":         quantiles(100, func() float64 { return r.NormFloat64() * 1e300 }),
		"tiny":         quantiles(100, func() float64 { return r.NormFloat64() * 1e-300 }),
		"sixteen":      quantiles(16, r.NormFloat64),
		"large":        quantiles(1000, r.NormFloat64),
		"full range":   append([]float64{-math.MaxFloat64}, append(quantiles(30, r.NormFloat64), math.MaxFloat64)...),
		"one outlier":  append(quantiles(60, r.NormFloat64), 1e12),
		"denormals":    quantiles(40, func() float64 { return float64(r.IntN(100)) * 5e-324 }),
		"few distinct": quantiles(40, func() float64 { return float64(r.IntN(3)) }),
	}
	guided := 0
	for name, edges := range shapes {
		t.Run(name, func(t *testing.T) {
			g := newBinGuide(edges)
			if g == nil {
				return
			}
			guided++
			values := []float64{math.Inf(-1), math.Inf(1), math.NaN(), -math.MaxFloat64, math.MaxFloat64, 0, math.Copysign(0, -1)}
			for _, e := range edges {
				values = append(values, e, math.Nextafter(e, math.Inf(-1)), math.Nextafter(e, math.Inf(1)))
			}
			lo, hi := edges[0], edges[len(edges)-1]
			for range 3000 {
				values = append(values, lo+(hi-lo)*r.Float64(), edges[r.IntN(len(edges))]*(1+r.NormFloat64()*1e-3))
			}
			for _, v := range values {
				if got, want := g.index(v), BinIndex(edges, v); got != want {
					t.Fatalf("value %v: bin %d, BinIndex %d", v, got, want)
				}
			}
		})
	}
	if guided < 6 {
		t.Fatalf("only %d edge lists got a guide", guided)
	}
	for _, c := range []struct {
		name  string
		edges []float64
	}{
		{"too few", []float64{1, 2, 3}},
		{"not ascending", append(quantiles(40, r.NormFloat64), -1)},
		{"repeated", append(quantiles(40, r.NormFloat64), 10, 10)},
		{"NaN", append(quantiles(40, r.NormFloat64), math.NaN())},
		{"infinite", append(quantiles(40, r.NormFloat64), math.Inf(1))},
	} {
		if newBinGuide(c.edges) != nil {
			t.Errorf("%s: a guide for edges it cannot serve", c.name)
		}
	}
}

// A sketch counts the same bins with the guide as with BinIndex.
func TestSketchGuideCounts(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 14))
	xs := make([]float64, 5000)
	for i := range xs {
		xs[i] = r.NormFloat64()
	}
	slices.Sort(xs)
	var edges, every10 []float64
	for j := range 100 {
		edges = append(edges, xs[j*50])
		if j%10 == 5 {
			every10 = append(every10, xs[j*50])
		}
	}
	for _, bins := range [][]float64{every10, {-0.5, 0.01, 0.7}} {
		p := &schemas.FeatureProfile{Name: "x", Kind: schemas.KindNumeric,
			BinEdges: bins, BinCounts: make([]int64, len(bins)+1),
			QuantileEdges: edges, QuantileCounts: make([]int64, len(edges)+1)}
		s := NewSketch(p)
		wantBins, wantQ := make([]int64, len(bins)+1), make([]int64, len(edges)+1)
		for range 5000 {
			v := r.NormFloat64() * 1.3
			s.AddFloat64(v)
			wantBins[BinIndex(bins, v)]++
			wantQ[BinIndex(edges, v)]++
		}
		if s.qguide == nil {
			t.Fatal("no guide for 100 normal quantile edges")
		}
		if !slices.Equal(s.bins, wantBins) || !slices.Equal(s.qbins, wantQ) {
			t.Fatalf("bins %v %v, want %v %v", s.bins, s.qbins, wantBins, wantQ)
		}
	}
}
