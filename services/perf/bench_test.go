package perf

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/driftline/driftline/schemas"
)

// Add is the per-row cost at level 1; Merge and Encode the per-partial
// cost at level 2.
func BenchmarkAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	rows := randomRows(r, 4096, 5)
	s, _ := New(Options{})
	b.ResetTimer()
	for i := range b.N {
		rw := rows[i%len(rows)]
		s.Add(rw.p, rw.label, rw.value)
	}
}

func BenchmarkMergeEncode(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	part := stateOf(b, randomRows(r, 4096, 5))
	b.ResetTimer()
	for range b.N {
		s, _ := New(Options{})
		if err := s.Merge(part); err != nil {
			b.Fatal(err)
		}
		enc, err := s.Encode()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// The worst order for the class cap: every row brings a new smallest
// class, which pools the largest kept one.
func BenchmarkAddDescendingClasses(b *testing.B) {
	names := make([]string, 100000)
	for i := range names {
		names[i] = fmt.Sprintf("%08d", len(names)-i)
	}
	s, _ := New(Options{})
	b.ResetTimer()
	for i := range b.N {
		c := names[i%len(names)]
		s.Add(schemas.Prediction{Class: &c}, &c, nil)
	}
}
