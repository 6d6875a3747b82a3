package reference

import (
	"math"
	"slices"
)

// sortFloats sorts xs ascending. Profiling a reference sorts every numeric
// column for its exact percentiles, and for a million values a radix sort
// on the IEEE 754 bits takes a fraction of a comparison sort's time (it was
// a fifth of driftline drift's CPU on a 1,000,000-row reference). No Go
// module with one was reachable from here, so it is written out: six
// passes of 11 bits over order-preserving keys. xs must hold no NaN, and
// -0 sorts as 0's equal (the caller folds it into 0).
func sortFloats(xs []float64) {
	const small = 512 // below it, a comparison sort beats the passes
	n := len(xs)
	if n < small {
		slices.Sort(xs)
		return
	}
	keys, buf := make([]uint64, n), make([]uint64, n)
	const bits = 11
	const mask = 1<<bits - 1
	const passes = (64 + bits - 1) / bits
	// Every pass's digit counts, in one read of the keys.
	var count [passes][1 << bits]int
	for i, x := range xs {
		k := sortKey(x)
		keys[i] = k
		for p := range passes {
			count[p][k>>(p*bits)&mask]++
		}
	}
	for p := range passes {
		shift := uint(p * bits)
		c := &count[p]
		if c[keys[0]>>shift&mask] == n {
			continue // every key has this digit: nothing moves
		}
		sum := 0
		for d, m := range c {
			c[d] = sum
			sum += m
		}
		for _, k := range keys {
			d := k >> shift & mask
			buf[c[d]] = k
			c[d]++
		}
		keys, buf = buf, keys
	}
	for i, k := range keys {
		xs[i] = fromSortKey(k)
	}
}

// sortKey maps a float64 to a uint64 in the same order: positives get the
// sign bit set, negatives have every bit flipped.
func sortKey(x float64) uint64 {
	b := math.Float64bits(x)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

func fromSortKey(k uint64) float64 {
	if k>>63 != 0 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}
