package stats

import "math"

// binGuide finds BinIndex's bin in a few comparisons instead of a binary
// search: a table over equal-width cells between the first and the last
// edge holds the bin of each cell's start, and a short scan from there
// finds the value's. The search was a sixth of drift level 1's CPU (seven
// hard-to-predict halvings per numeric value on 100 quantile edges).
//
// It needs finite, strictly ascending edges, as ValidateProfile requires:
// edges[i] <= v then holds for a prefix of the edges for every value that
// is not NaN, and the scan, which moves up or down from any start, ends
// where that prefix ends, as BinIndex does.
type binGuide struct {
	edges     []float64
	lo, scale float64
	start     []int32 // BinIndex(edges, lo + c/scale) for each cell c
}

const (
	minGuideEdges   = 16   // below that the binary search is as quick
	maxGuideCells   = 4096 // the table's size bound (16 KiB)
	maxEdgesPerCell = 4    // a guide that would scan more is not built
)

// newBinGuide returns a guide for edges, or nil when they are too few, not
// finite and strictly ascending, or too unevenly spread for a table of at
// most maxGuideCells cells.
func newBinGuide(edges []float64) *binGuide {
	n := len(edges)
	if n < minGuideEdges {
		return nil
	}
	for i, e := range edges {
		if math.IsNaN(e) || math.IsInf(e, 0) || i > 0 && !(e > edges[i-1]) {
			return nil
		}
	}
	lo, hi := edges[0], edges[n-1]
	for cells := 2 * n; cells <= maxGuideCells; cells *= 2 {
		scale := float64(cells) / (hi - lo)
		if math.IsInf(scale, 0) || math.IsNaN(scale) || scale <= 0 {
			return nil // hi - lo overflows or underflows
		}
		g := &binGuide{edges: edges, lo: lo, scale: scale, start: make([]int32, cells)}
		dense := false
		for c := range g.start {
			g.start[c] = int32(BinIndex(edges, lo+float64(c)/scale))
			if c > 0 && g.start[c]-g.start[c-1] > maxEdgesPerCell {
				dense = true
				break
			}
		}
		if !dense {
			return g
		}
	}
	return nil
}

// index is BinIndex(g.edges, v).
func (g *binGuide) index(v float64) int {
	e := g.edges
	if !(v >= g.lo) {
		return BinIndex(e, v) // below every edge, or NaN
	}
	i := len(e)
	if c := (v - g.lo) * g.scale; c < float64(len(g.start)) {
		i = int(g.start[int(c)])
	}
	for i < len(e) && e[i] <= v {
		i++
	}
	for i > 0 && e[i-1] > v {
		i--
	}
	return i
}
