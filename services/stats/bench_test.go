package stats_test

import (
	"math/rand/v2"
	"testing"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/stats"
)

func BenchmarkSketchAdd(b *testing.B) {
	num := numericProfile(b, 100000, 1)
	cat := categoricalProfile(b, 200)
	rng := rand.New(rand.NewPCG(1, 1))
	floats := make([]float64, 4096)
	boxed := make([]any, len(floats))
	for i := range floats {
		floats[i] = rng.NormFloat64()
		boxed[i] = floats[i] // as values arrive, in InferenceEvent.Features
	}
	cats := mixedValues(cat.Kind, 4096, 2)
	b.Run("numeric/any", func(b *testing.B) {
		s := stats.NewSketch(num)
		for i := 0; b.Loop(); i++ {
			s.Add(boxed[i%len(boxed)])
		}
	})
	b.Run("numeric/float64", func(b *testing.B) {
		s := stats.NewSketch(num)
		for i := 0; b.Loop(); i++ {
			s.AddFloat64(floats[i%len(floats)])
		}
	})
	b.Run("categorical", func(b *testing.B) {
		s := stats.NewSketch(cat)
		for i := 0; b.Loop(); i++ {
			s.Add(cats[i%len(cats)])
		}
	})
}

// BenchmarkSketchMerge is level 2's cost per partial and feature; the
// numeric sketch includes its quantile sketch.
func BenchmarkSketchMerge(b *testing.B) {
	num := numericProfile(b, 100000, 1)
	cat := categoricalProfile(b, 200)
	for _, bc := range []struct {
		name string
		src  *stats.Sketch
	}{
		{"numeric", sketchOf(num, mixedValues(num.Kind, 10000, 3))},
		{"categorical/1200 categories", sketchOf(cat, mixedValues(cat.Kind, 50000, 3))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := stats.NewSketch(bc.src.Profile())
			for b.Loop() {
				if err := dst.Merge(bc.src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDrift(b *testing.B) {
	for _, bc := range []struct {
		name     string
		ref, cur int
	}{
		{"ref 500, window 200", 500, 200},
		{"ref 100k, window 50k", 100000, 50000},
	} {
		p := numericProfile(b, bc.ref, 1)
		rng := rand.New(rand.NewPCG(2, 2))
		s := stats.NewSketch(p)
		for i := 0; i < bc.cur; i++ {
			s.AddFloat64(rng.NormFloat64()*1.02 + 0.01)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				stats.Drift(p, s)
			}
		})
	}
}

// BenchmarkQuantileSketch is the quantile sketch's share of the work: one
// value added to the DDSketch alone (part of numeric/float64 above), and
// a numeric sketch's state encoded (level 1, per window) and decoded
// and checked (level 2, per partial), with and without it.
func BenchmarkQuantileSketch(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	floats := make([]float64, 4096)
	for i := range floats {
		floats[i] = rng.NormFloat64()*50 + 100
	}
	b.Run("add", func(b *testing.B) {
		d := stats.NewQuantileSketch()
		for i := 0; b.Loop(); i++ {
			stats.AddQuantile(d, floats[i%len(floats)])
		}
	})
	num := numericProfile(b, 100000, 1)
	s := stats.NewSketch(num)
	for i := 0; i < 10000; i++ {
		s.AddFloat64(floats[i%len(floats)] * (1 + float64(i)/1e4))
	}
	st := s.State()
	without := st
	without.QuantileSketch = nil
	b.Logf("encoded quantile sketch of 10,000 values: %d bytes", len(st.QuantileSketch))
	b.Run("state", func(b *testing.B) {
		for b.Loop() {
			s.State()
		}
	})
	for _, bc := range []struct {
		name string
		st   schemas.FeatureSketch
	}{{"from state", st}, {"from state without quantiles", without}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := stats.FromState(num, bc.st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("p50+p95+p99", func(b *testing.B) {
		for b.Loop() {
			for _, q := range []float64{0.5, 0.95, 0.99} {
				s.Quantile(q)
			}
		}
	})
}
