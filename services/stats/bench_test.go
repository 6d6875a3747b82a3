package stats_test

import (
	"math/rand/v2"
	"testing"

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

func BenchmarkMerge(b *testing.B) {
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
