package reference

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/driftline/driftline/services/stats"
)

// sortFloats orders like slices.Sort on every kind of value a column can
// hold: both signs, zero, subnormals, the extremes, infinities and long
// runs of ties, above and below the size where it switches to radix.
func TestSortFloats(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	special := []float64{0, 1, -1, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, math.MaxFloat64,
		-math.MaxFloat64, math.Inf(1), math.Inf(-1), 1e-300, -1e-300, 0.1, -0.1}
	gens := map[string]func() float64{
		"normal":  rng.NormFloat64,
		"special": func() float64 { return special[rng.IntN(len(special))] },
		"ties":    func() float64 { return float64(rng.IntN(5)) - 2 },
		"wide":    func() float64 { return math.Ldexp(rng.Float64()-0.5, rng.IntN(2000)-1000) },
	}
	for name, gen := range gens {
		for _, n := range []int{0, 1, 2, 511, 512, 513, 10_000} {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = gen()
			}
			want := slices.Clone(xs)
			slices.Sort(want)
			sortFloats(xs)
			if !slices.Equal(xs, want) {
				t.Fatalf("%s, n=%d: sortFloats differs from slices.Sort", name, n)
			}
		}
	}
}

func BenchmarkSortFloats(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]float64, 1_000_000)
	for i := range src {
		src[i] = rng.NormFloat64() * 1000
	}
	xs := make([]float64, len(src))
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			copy(xs, src)
			sortFloats(xs)
		}
	})
	b.Run("slices.Sort", func(b *testing.B) {
		for b.Loop() {
			copy(xs, src)
			slices.Sort(xs)
		}
	})
}

// countBins on sorted values counts as stats.BinIndex does per value,
// ties on an edge included.
func TestCountBinsMatchesBinIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for range 50 {
		xs := make([]float64, rng.IntN(300))
		for i := range xs {
			xs[i] = float64(rng.IntN(40))
		}
		slices.Sort(xs)
		var edges []float64
		for e := -2.0; e < 45; e += float64(1 + rng.IntN(6)) {
			edges = append(edges, e)
		}
		want := make([]int64, len(edges)+1)
		for _, x := range xs {
			want[stats.BinIndex(edges, x)]++
		}
		if got := countBins(xs, edges); !slices.Equal(got, want) {
			t.Fatalf("countBins = %v, BinIndex counts %v (edges %v)", got, want, edges)
		}
	}
}
