package stats

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// quantAdder must leave a quantile sketch exactly as addQuantile does,
// for fresh sketches and for sketches decoded from a partial (another
// DDSketch under the same Sketch), over the whole value range.
func TestQuantAdderAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	minV, maxV := quantileMapping.MinIndexableValue(), quantileMapping.MaxIndexableValue()
	values := []float64{0, math.Copysign(0, -1), minV, -minV, minV / 2, -minV / 2, math.Nextafter(minV, 1), maxV, -maxV,
		maxV * 2, -maxV * 2, math.MaxFloat64, -math.MaxFloat64, 5e-324, -5e-324, 1, -1}
	for range 5000 {
		switch r.IntN(3) {
		case 0:
			values = append(values, r.NormFloat64()*1000)
		case 1:
			values = append(values, math.Exp(r.NormFloat64()*50)*float64(1-2*r.IntN(2)))
		default:
			values = append(values, float64(r.IntN(7)-3))
		}
	}
	fast, slow := newQuantileSketch(), newQuantileSketch()
	var q quantAdder
	for i, x := range values {
		q.add(fast, x)
		addQuantile(slow, x)
		if i == len(values)/2 {
			// Rebinding: a sketch decoded from a partial replaces the first.
			b := encodeQuantiles(fast)
			var err error
			if fast, err = decodeQuantiles(b, int64(i+1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if q.m == nil {
		t.Fatal("the fast path was not taken")
	}
	if got, want := encodeQuantiles(fast), encodeQuantiles(slow); !bytes.Equal(got, want) {
		t.Fatalf("quantile sketches differ:\n got  %x\n want %x", got, want)
	}
}
