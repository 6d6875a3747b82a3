package stats

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/DataDog/sketches-go/ddsketch"
	enc "github.com/DataDog/sketches-go/ddsketch/encoding"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// The quantile sketch of a numeric feature is a DDSketch (Masson, Rim and
// Lee, "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with
// Relative-Error Guarantees", VLDB 2019) from github.com/DataDog/sketches-go.
// It buckets values on a logarithmic scale, so a quantile comes out within
// a relative error of the true value whatever the distribution, and two
// sketches merge by adding bucket counts.
const (
	// QuantileAccuracy is the sketch's relative accuracy α: the value it
	// returns for quantile q lies within α·|x| of a sample value x whose
	// rank is ⌊q·(n−1)⌋ or ⌈q·(n−1)⌉, i.e. between numpy's
	// percentile(method="lower") and percentile(method="higher"), each
	// widened by 1%. numpy's default (linear) percentile lies between the
	// same two values. The result is also clamped to the window's exact
	// minimum and maximum.
	//
	// The guarantee holds while the values of each sign span at most
	// MaxQuantileBins buckets, a ratio of about 10^17 between the largest
	// and the smallest magnitude (e.g. 1e-9 to 1e8); beyond that the
	// smallest magnitudes are merged into one bucket, so only quantiles
	// that fall among them lose their accuracy. Magnitudes below about
	// 1e-308 count as 0, and beyond about 1e308 as that bound.
	QuantileAccuracy = 0.01
	// MaxQuantileBins caps the buckets of each sign, so hostile input
	// cannot grow a sketch (or a partial) without bound: a sketch holds at
	// most 2·2048 float64 counts, 32 KiB.
	MaxQuantileBins = 2048
	// maxQuantileSketchBytes bounds an encoded sketch taken from a partial:
	// a full sketch encodes in under 40 KiB (two stores of 2048 counts of at
	// most 9 bytes each, plus headers).
	maxQuantileSketchBytes = 64 << 10
)

// Quantile metrics: the window's p50, p95 and p99 of a numeric feature,
// from its quantile sketch, within QuantileAccuracy.
const (
	MetricP50 = "p50"
	MetricP95 = "p95"
	MetricP99 = "p99"
)

// quantileMetrics pairs each quantile metric with its level.
var quantileMetrics = []struct {
	metric string
	q      float64
}{{MetricP50, 0.5}, {MetricP95, 0.95}, {MetricP99, 0.99}}

// quantileMapping is shared by every sketch: sketches merge only when
// their mappings are equal, and the encoding leaves the mapping out.
// The cubically interpolated mapping costs no logarithm per value and
// keeps the stated accuracy with about 1% more buckets than the exact
// logarithmic one.
var quantileMapping = func() mapping.IndexMapping {
	m, err := mapping.NewCubicallyInterpolatedMapping(QuantileAccuracy)
	if err != nil {
		panic("stats: quantile mapping: " + err.Error()) // a constant argument: unreachable
	}
	return m
}()

// quantileIndexes is the range of bucket indexes a value the mapping can
// index may have; a decoded sketch outside it is corrupt.
var quantileIndexes = struct{ lo, hi int }{
	quantileMapping.Index(quantileMapping.MinIndexableValue()),
	quantileMapping.Index(quantileMapping.MaxIndexableValue()),
}

func newQuantileSketch() *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(quantileMapping,
		store.NewCollapsingLowestDenseStore(MaxQuantileBins),
		store.NewCollapsingLowestDenseStore(MaxQuantileBins))
}

// addQuantile adds a finite value, clamped into the mapping's range so
// that every value is counted (a sketch's total must equal Count).
func addQuantile(d *ddsketch.DDSketch, x float64) {
	if m := quantileMapping.MaxIndexableValue(); math.Abs(x) > m {
		x = math.Copysign(m, x)
	}
	_ = d.Add(x) // only NaN fails, and x is finite
}

// quantAdder is addQuantile without the interface calls: DDSketch's
// AddWithCount asks its mapping for both indexable bounds and the index and
// then its store to add, four dynamic calls per value that were half the
// cost of a numeric value's sketching. For a sketch of newQuantileSketch
// (quantileMapping and two collapsing dense stores, which a DDSketch never
// replaces) it makes the same calls on the concrete types; any other sketch
// takes addQuantile.
type quantAdder struct {
	d        *ddsketch.DDSketch // the sketch bound to; nil: none yet
	m        *mapping.CubicallyInterpolatedMapping
	pos, neg *store.CollapsingLowestDenseStore
}

// concreteMapping is quantileMapping's concrete type, nil if it had another.
var concreteMapping, _ = quantileMapping.(*mapping.CubicallyInterpolatedMapping)

func (q *quantAdder) bind(d *ddsketch.DDSketch) {
	*q = quantAdder{d: d}
	if concreteMapping == nil || d.IndexMapping != quantileMapping {
		return
	}
	pos, ok1 := d.GetPositiveValueStore().(*store.CollapsingLowestDenseStore)
	neg, ok2 := d.GetNegativeValueStore().(*store.CollapsingLowestDenseStore)
	if ok1 && ok2 {
		q.m, q.pos, q.neg = concreteMapping, pos, neg
	}
}

// add is addQuantile(d, x) for a finite x.
func (q *quantAdder) add(d *ddsketch.DDSketch, x float64) {
	if q.d != d {
		q.bind(d)
	}
	if q.m == nil {
		addQuantile(d, x)
		return
	}
	// As addQuantile clamps and DDSketch.AddWithCount picks the store.
	if max := q.m.MaxIndexableValue(); math.Abs(x) > max {
		x = math.Copysign(max, x)
	}
	switch min := q.m.MinIndexableValue(); {
	case x > min:
		q.pos.AddWithCount(q.m.Index(x), 1)
	case x < -min:
		q.neg.AddWithCount(q.m.Index(-x), 1)
	default:
		_ = d.Add(x) // the zero count, which only the sketch holds
	}
}

// encodeQuantiles returns the sketch in sketches-go's encoding without the
// mapping (always quantileMapping), or nil for an empty sketch.
func encodeQuantiles(d *ddsketch.DDSketch) []byte {
	if d == nil || d.IsEmpty() {
		return nil
	}
	var b []byte
	d.Encode(&b, true)
	return b
}

// decodeQuantiles decodes an encoded sketch from a partial and checks it
// against the state's count of numeric values. The bytes come from another
// process, so the decoding is bounded: at most maxQuantileSketchBytes,
// decoded first into lists of buckets (at most one per input byte), every
// bucket checked (an index the mapping can produce, a whole, non-negative
// count, at most MaxQuantileBins buckets per sign, counts adding up to
// count) before the buckets go into a bounded sketch.
func decodeQuantiles(b []byte, count int64) (*ddsketch.DDSketch, error) {
	if len(b) > maxQuantileSketchBytes {
		return nil, fmt.Errorf("quantile sketch of %d bytes (at most %d)", len(b), maxQuantileSketchBytes)
	}
	raw, err := decodeBuckets(b)
	if err != nil {
		return nil, fmt.Errorf("quantile sketch: %v", err)
	}
	zero := raw.GetZeroCount()
	if !wholeCount(zero) {
		return nil, errors.New("quantile sketch: bad zero count")
	}
	total := zero
	d := newQuantileSketch()
	for _, pair := range [][2]store.Store{
		{raw.GetPositiveValueStore(), d.GetPositiveValueStore()},
		{raw.GetNegativeValueStore(), d.GetNegativeValueStore()},
	} {
		bins := pair[0].(*bucketList).buckets
		for _, x := range bins {
			switch {
			case x.index < quantileIndexes.lo || x.index > quantileIndexes.hi:
				return nil, fmt.Errorf("quantile sketch: bucket index %d out of range", x.index)
			case !wholeCount(x.count):
				return nil, fmt.Errorf("quantile sketch: bad count %v", x.count)
			}
			total += x.count
		}
		if len(bins) == 0 {
			continue
		}
		slices.SortFunc(bins, func(a, b bucket) int { return cmp.Compare(a.index, b.index) })
		lo, hi := bins[0], bins[len(bins)-1]
		if hi.index-lo.index >= MaxQuantileBins {
			return nil, fmt.Errorf("quantile sketch: buckets %d to %d span more than %d", lo.index, hi.index, MaxQuantileBins)
		}
		// The highest bucket first, then the others in ascending order:
		// the dense store then grows at one end only.
		pair[1].AddWithCount(hi.index, hi.count)
		for _, x := range bins[:len(bins)-1] {
			pair[1].AddWithCount(x.index, x.count)
		}
	}
	if total != float64(count) {
		return nil, fmt.Errorf("quantile sketch counts %v values, the state %d", total, count)
	}
	if zero > 0 {
		_ = d.AddWithCount(0, zero)
	}
	return d, nil
}

// bucket is one decoded bucket of a quantile sketch's store.
type bucket struct {
	index int
	count float64
}

// bucketList is a store.Store for decoding only: it lists the buckets the
// decoder adds, whatever their indexes, so checking them costs no memory
// beyond the input's size. The decoder calls only the methods defined here;
// the embedded SparseStore (left empty) completes the interface.
type bucketList struct {
	*store.SparseStore
	buckets []bucket
}

func (l *bucketList) Add(index int) { l.AddWithCount(index, 1) }

func (l *bucketList) AddBin(b store.Bin) { l.AddWithCount(b.Index(), b.Count()) }

func (l *bucketList) AddWithCount(index int, count float64) {
	l.buckets = append(l.buckets, bucket{index, count})
}

func (l *bucketList) DecodeAndMergeWith(b *[]byte, mode enc.SubFlag) error {
	return store.DecodeAndMergeWith(l, b, mode)
}

// decodeBuckets runs sketches-go's decoder into bucket lists. It is
// guarded against panics as well: the library's decoder was not written
// for hostile input.
func decodeBuckets(b []byte) (d *ddsketch.DDSketch, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("undecodable (%v)", r)
		}
	}()
	provider := func() store.Store { return &bucketList{SparseStore: store.NewSparseStore()} }
	return ddsketch.DecodeDDSketch(b, provider, quantileMapping)
}

// wholeCount reports whether c is a possible count of values: a whole
// number from 0 to 2^53.
func wholeCount(c float64) bool {
	return c >= 0 && c <= maxExactInt && c == math.Trunc(c)
}

// Quantile returns the q-quantile (0 <= q <= 1) of the sketch's numeric
// values within QuantileAccuracy, and false when there is none: no values,
// a categorical feature, or a sketch merged from a partial written before
// partials carried quantile sketches.
func (s *Sketch) Quantile(q float64) (float64, bool) {
	if s.quant == nil || s.count == 0 || !(q >= 0 && q <= 1) {
		return 0, false
	}
	v, err := s.quant.GetValueAtQuantile(q)
	if err != nil || math.IsNaN(v) {
		return 0, false
	}
	// The true quantile lies within the window's range, which is exact.
	return math.Min(math.Max(v, s.min), s.max), true
}

// quantileResults returns p50, p95 and p99 when the sketch has them.
func (s *Sketch) quantileResults() []Result {
	var out []Result
	for _, m := range quantileMetrics {
		if v, ok := s.Quantile(m.q); ok {
			out = append(out, Result{Metric: m.metric, Value: v})
		}
	}
	return out
}
