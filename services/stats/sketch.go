package stats

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/driftline/driftline/schemas"
)

const (
	// MaxCategories is how many categories outside the reference a window
	// sketch keeps by name; the counts of the others go to the sketch's
	// Other bucket. Reference categories are always kept. A reference
	// profile likewise keeps its MaxCategories most frequent categories and
	// pools the rest under OtherCategory.
	MaxCategories = 1000
	// MaxCategoryBytes is the longest category outside the reference that a
	// sketch keeps by name: longer ones count in Other, so a producer that
	// sends free text cannot make a partial grow without bound.
	MaxCategoryBytes = 256
	// OtherCategory is the key under which a reference profile pools the
	// categories beyond its MaxCategories most frequent ones. A real value
	// spelled the same way is pooled with them.
	OtherCategory = "__other__"
)

// maxExactInt bounds the floats that hold integers exactly (2^53); an
// integral float within it names an integer-coded category.
const maxExactInt = 1 << 53

// Sketch is the mergeable state of one feature in one window, bound to the
// feature's reference profile. The zero value is not usable; call NewSketch
// or FromState.
//
// Every value added lands in exactly one of three counters: Count (usable
// values), Missing (nil, NaN, ±Inf for numeric features as Evidently drops
// them, and "" for categorical ones) or TypeMismatches (a value of the wrong
// kind, which the model got but drift cannot use). So Count + Missing +
// TypeMismatches is the number of values seen, and missing_share is Missing
// over that total.
//
// Merge is associative and commutative: counts, min, max, categories and
// the quantile sketch's buckets come out identical whatever the merge order
// (the quantile sketch's only while it has not reached MaxQuantileBins per
// sign, which merges its smallest buckets); Sum and SumSquares are
// float64 sums and so agree up to rounding (relative 1e-16 per merge).
// They saturate at ±MaxFloat64 rather than overflow (values beyond about
// 1e154 in magnitude), so a state always stays finite.
type Sketch struct {
	p    *schemas.FeatureProfile
	kind int

	count, missing, mismatches int64

	// numeric
	sum, sumSq float64
	min, max   float64
	bins       []int64 // in p.BinEdges
	qbins      []int64 // in p.QuantileEdges
	// binOfQ maps a quantile bin to its PSI bin when every BinEdge is also
	// a QuantileEdge (as reference builds them), so Add needs one search.
	binOfQ []int
	// quant is the values' quantile sketch (quantile.go); nil once the
	// sketch merged a state without one, from a writer before it.
	quant *ddsketch.DDSketch
	qadd  quantAdder // adds to quant without its interface calls
	// qguide finds quantile bins without a binary search (binguide.go),
	// built on the first numeric value: level 2's sketches only merge.
	qguide  *binGuide
	qguided bool // qguide was built, or cannot be

	// categorical
	cats   map[string]int64 // reference categories and kept unseen ones
	unseen unseenHeap       // the kept unseen categories, largest rank on top
	other  int64
}

const (
	kindUnknown = iota
	kindNumeric
	kindCategorical
)

// NewSketch returns an empty sketch for the feature p describes. p must not
// be nil and must not change while the sketch is in use. A profile of an
// unknown kind counts every non-nil value as a type mismatch.
func NewSketch(p *schemas.FeatureProfile) *Sketch {
	s := &Sketch{p: p}
	switch p.Kind {
	case schemas.KindNumeric:
		s.kind = kindNumeric
		s.bins = make([]int64, len(p.BinEdges)+1)
		s.qbins = make([]int64, len(p.QuantileEdges)+1)
		s.binOfQ = quantileToBin(p.BinEdges, p.QuantileEdges)
		s.quant = newQuantileSketch()
	case schemas.KindCategorical:
		s.kind = kindCategorical
		s.cats = make(map[string]int64)
	}
	return s
}

// quantileToBin returns, for each quantile bin, the PSI bin that contains
// it, or nil when some bin edge is not a quantile edge (a quantile bin then
// may straddle two PSI bins).
func quantileToBin(binEdges, qEdges []float64) []int {
	for _, e := range binEdges {
		i := BinIndex(qEdges, e)
		if i == 0 || qEdges[i-1] != e {
			return nil
		}
	}
	m := make([]int, len(qEdges)+1)
	for q := 1; q <= len(qEdges); q++ {
		m[q] = BinIndex(binEdges, qEdges[q-1])
	}
	return m
}

// BinIndex returns the bin of v for ascending inner edges: the number of
// edges <= v, so bin i holds [edges[i-1], edges[i]) and the outer bins are
// open. Profiles and sketches both count with it, so they always agree.
func BinIndex(edges []float64, v float64) int {
	lo, hi := 0, len(edges)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if edges[mid] <= v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Profile returns the profile the sketch is bound to.
func (s *Sketch) Profile() *schemas.FeatureProfile { return s.p }

// Add counts one value. nil is missing. float64, float32 and the integer
// types are numeric; string and bool ("true"/"false") are categorical. A
// categorical feature also takes integers, and integral floats, as their
// decimal text, because integer-coded categories (zip codes, levels)
// arrive as numbers from typed producers. Anything else is a type mismatch.
func (s *Sketch) Add(v any) {
	switch x := v.(type) {
	case nil:
		s.missing++
	case float64:
		s.AddFloat64(x)
	case string:
		s.AddString(x)
	case int64:
		s.addInt(x)
	case int:
		s.addInt(int64(x))
	case bool:
		if x {
			s.AddString("true")
		} else {
			s.AddString("false")
		}
	case float32:
		s.AddFloat64(float64(x))
	case int32:
		s.addInt(int64(x))
	case int16:
		s.addInt(int64(x))
	case int8:
		s.addInt(int64(x))
	case uint8:
		s.addInt(int64(x))
	case uint16:
		s.addInt(int64(x))
	case uint32:
		s.addInt(int64(x))
	case uint:
		s.addUint(uint64(x))
	case uint64:
		s.addUint(x)
	default:
		s.mismatches++
	}
}

// AddFeature is Add for a decoded feature (schemas.UnmarshalFeatures),
// without boxing its value.
func (s *Sketch) AddFeature(f *schemas.Feature) {
	switch f.Type {
	case schemas.FeatureDouble:
		s.AddFloat64(f.Double)
	case schemas.FeatureLong:
		s.addInt(f.Long)
	case schemas.FeatureString:
		s.AddString(f.Str)
	case schemas.FeatureBoolean:
		if f.Bool {
			s.AddString("true")
		} else {
			s.AddString("false")
		}
	case schemas.FeatureNull:
		s.missing++
	default:
		s.mismatches++
	}
}

func (s *Sketch) addInt(x int64) {
	if s.kind == kindCategorical {
		s.addCategory(strconv.FormatInt(x, 10), 1)
		return
	}
	s.AddFloat64(float64(x))
}

func (s *Sketch) addUint(x uint64) {
	if s.kind == kindCategorical {
		s.addCategory(strconv.FormatUint(x, 10), 1)
		return
	}
	s.AddFloat64(float64(x))
}

// AddFloat64 is Add for a float64 without boxing it.
func (s *Sketch) AddFloat64(x float64) {
	switch s.kind {
	case kindNumeric:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			s.missing++
			return
		}
		if s.count == 0 {
			s.min, s.max = x, x
		} else if x < s.min {
			s.min = x
		} else if x > s.max {
			s.max = x
		}
		s.count++
		s.sum = saturate(s.sum + x)
		s.sumSq = saturate(s.sumSq + x*x)
		if !s.qguided {
			s.qguide, s.qguided = newBinGuide(s.p.QuantileEdges), true
		}
		var q int
		if s.qguide != nil {
			q = s.qguide.index(x)
		} else {
			q = BinIndex(s.p.QuantileEdges, x)
		}
		s.qbins[q]++
		if s.binOfQ != nil {
			s.bins[s.binOfQ[q]]++
		} else {
			s.bins[BinIndex(s.p.BinEdges, x)]++
		}
		if s.quant != nil {
			s.qadd.add(s.quant, x)
		}
	case kindCategorical:
		switch {
		case math.IsNaN(x):
			s.missing++
		case x == math.Trunc(x) && math.Abs(x) <= maxExactInt:
			s.addCategory(strconv.FormatInt(int64(x), 10), 1)
		default:
			s.mismatches++
		}
	default:
		if math.IsNaN(x) {
			s.missing++
		} else {
			s.mismatches++
		}
	}
}

// AddString is Add for a string. The empty string is missing, as in
// reference profiles; text that is not valid UTF-8 is a type mismatch (it
// could not be encoded in a partial).
func (s *Sketch) AddString(x string) {
	switch {
	case s.kind != kindCategorical:
		s.mismatches++
	case x == "":
		s.missing++
	case !utf8.ValidString(x):
		s.mismatches++
	default:
		s.addCategory(x, 1)
	}
}

// addCategory counts n occurrences of a valid, non-empty category.
//
// Categories outside the reference are kept by a bottom-k rule: the
// MaxCategories with the smallest (FNV-1a hash, text) rank. Which
// categories survive then depends only on the set of categories seen, not
// on the order of adds and merges, which is what makes Merge associative
// and commutative; the survivors are a uniform sample of the unseen
// categories, and a category once dropped can never come back, so the kept
// ones always hold their full counts.
func (s *Sketch) addCategory(x string, n int64) {
	s.count += n
	if c, ok := s.cats[x]; ok {
		s.cats[x] = c + n
		return
	}
	if _, ok := s.p.Categories[x]; ok {
		s.cats[strings.Clone(x)] = n
		return
	}
	if len(x) > MaxCategoryBytes {
		s.other += n
		return
	}
	r := rank{fnv1a(x), x}
	if len(s.unseen) < MaxCategories {
		r.key = strings.Clone(x)
		heap.Push(&s.unseen, r)
		s.cats[r.key] = n
		return
	}
	top := s.unseen[0]
	if !r.less(top) {
		s.other += n
		return
	}
	s.other += s.cats[top.key]
	delete(s.cats, top.key)
	r.key = strings.Clone(x)
	s.unseen[0] = r
	heap.Fix(&s.unseen, 0)
	s.cats[r.key] = n
}

// rank orders unseen categories for the bottom-k rule.
type rank struct {
	h   uint64
	key string
}

func (a rank) less(b rank) bool { return a.h < b.h || a.h == b.h && a.key < b.key }

// unseenHeap is a max-heap of ranks, so the category to drop is on top.
type unseenHeap []rank

func (h unseenHeap) Len() int           { return len(h) }
func (h unseenHeap) Less(i, j int) bool { return h[j].less(h[i]) }
func (h unseenHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *unseenHeap) Push(x any)        { *h = append(*h, x.(rank)) }
func (h *unseenHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// fnv1a is the 64-bit FNV-1a hash: stable across processes and releases,
// unlike hash/maphash, because level 1 and level 2 must rank alike.
func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Merge adds o's counts to s. It fails, leaving s unchanged, when o is
// bound to a different profile or a count would overflow.
func (s *Sketch) Merge(o *Sketch) error {
	if o == nil {
		return errors.New("stats: merge: nil sketch")
	}
	if !sameProfile(s.p, o.p) {
		return fmt.Errorf("stats: merge: sketch of feature %q is bound to a different profile than feature %q", o.p.Name, s.p.Name)
	}
	count, ok1 := addInt64(s.count, o.count)
	missing, ok2 := addInt64(s.missing, o.missing)
	mism, ok3 := addInt64(s.mismatches, o.mismatches)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("stats: merge: feature %q: count overflow", s.p.Name)
	}
	// Every bin and category count is at most the total, so none of the
	// sums below can overflow now.
	if o.count > 0 && s.kind == kindNumeric {
		if s.count == 0 {
			s.min, s.max = o.min, o.max
		} else {
			s.min = math.Min(s.min, o.min)
			s.max = math.Max(s.max, o.max)
		}
		s.sum = saturate(s.sum + o.sum)
		s.sumSq = saturate(s.sumSq + o.sumSq)
		for i, c := range o.bins {
			s.bins[i] += c
		}
		for i, c := range o.qbins {
			s.qbins[i] += c
		}
	}
	if s.kind == kindNumeric {
		switch {
		case s.quant != nil && o.quant != nil:
			oq := o.quant
			if o == s {
				oq = oq.Copy()
			}
			if err := s.quant.MergeWith(oq); err != nil {
				s.quant = nil // unreachable: one mapping for all sketches
			}
		case o.quant == nil && o.count > 0:
			s.quant = nil // the merged quantiles would miss o's values
		}
	}
	if s.kind == kindCategorical {
		if o == s {
			for k := range s.cats {
				s.cats[k] *= 2
			}
		} else {
			for k, c := range o.cats {
				s.addCategory(k, c)
			}
		}
		s.other += o.other
	}
	s.count, s.missing, s.mismatches = count, missing, mism
	return nil
}

// sameProfile reports whether two profiles bin and name values alike.
func sameProfile(a, b *schemas.FeatureProfile) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Name != b.Name || a.Kind != b.Kind ||
		!sameFloats(a.BinEdges, b.BinEdges) || !sameFloats(a.QuantileEdges, b.QuantileEdges) ||
		len(a.Categories) != len(b.Categories) {
		return false
	}
	for k := range a.Categories {
		if _, ok := b.Categories[k]; !ok {
			return false
		}
	}
	return true
}

func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// saturate clamps an overflowed sum to ±MaxFloat64, so that a state stays
// finite (and encodable) even when a producer sends values near the float
// range; such a sum is then only a bound.
func saturate(x float64) float64 {
	if math.IsInf(x, 0) {
		return math.Copysign(math.MaxFloat64, x)
	}
	return x
}

// addInt64 returns a+b and whether it did not overflow.
func addInt64(a, b int64) (int64, bool) {
	c := a + b
	return c, (c > a) == (b > 0)
}

// State returns a copy of the sketch's mergeable state, to ship in a
// WindowPartial. Min and Max are 0 when there are no numeric values.
func (s *Sketch) State() schemas.FeatureSketch {
	st := schemas.FeatureSketch{
		Name:           s.p.Name,
		Kind:           s.p.Kind,
		Count:          s.count,
		Missing:        s.missing,
		TypeMismatches: s.mismatches,
	}
	switch s.kind {
	case kindNumeric:
		st.Sum, st.SumSquares = s.sum, s.sumSq
		if s.count > 0 {
			st.Min, st.Max = s.min, s.max
		}
		st.BinCounts = append([]int64(nil), s.bins...)
		st.QuantileCounts = append([]int64(nil), s.qbins...)
		st.QuantileSketch = encodeQuantiles(s.quant)
	case kindCategorical:
		st.Categories = make(map[string]int64, len(s.cats))
		for k, c := range s.cats {
			if c != 0 {
				st.Categories[k] = c
			}
		}
		st.Other = s.other
	}
	return st
}

// FromState rebuilds a sketch from a state made by State, typically out of
// a partial from another process. It checks the state against the profile
// and rejects, never panics on, states that could not have come from a
// sketch of it: wrong name or kind, bin counts of the wrong length,
// negative counts, counts that do not add up to Count, non-finite sums, too
// many or too long unseen categories.
func FromState(p *schemas.FeatureProfile, st schemas.FeatureSketch) (*Sketch, error) {
	if p == nil {
		return nil, errors.New("stats: state: nil profile")
	}
	bad := func(format string, args ...any) (*Sketch, error) {
		return nil, fmt.Errorf("stats: state of feature %q: %s", p.Name, fmt.Sprintf(format, args...))
	}
	if st.Name != p.Name {
		return bad("name %q does not match", st.Name)
	}
	if st.Kind != p.Kind {
		return bad("kind %q does not match the profile's %q", st.Kind, p.Kind)
	}
	if st.Count < 0 || st.Missing < 0 || st.TypeMismatches < 0 {
		return bad("negative count")
	}
	if _, ok := addInt64(st.Count, st.Missing); !ok {
		return bad("count overflow")
	}
	s := NewSketch(p)
	s.count, s.missing, s.mismatches = st.Count, st.Missing, st.TypeMismatches
	switch s.kind {
	case kindNumeric:
		if len(st.Categories) != 0 || st.Other != 0 {
			return bad("numeric state has categories")
		}
		if len(st.BinCounts) != len(s.bins) {
			return bad("%d bin counts, the profile has %d bins", len(st.BinCounts), len(s.bins))
		}
		if len(st.QuantileCounts) != len(s.qbins) {
			return bad("%d quantile counts, the profile has %d quantile bins", len(st.QuantileCounts), len(s.qbins))
		}
		if err := checkCounts(st.BinCounts, st.Count); err != nil {
			return bad("bin counts: %v", err)
		}
		if err := checkCounts(st.QuantileCounts, st.Count); err != nil {
			return bad("quantile counts: %v", err)
		}
		for _, x := range []float64{st.Sum, st.SumSquares, st.Min, st.Max} {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return bad("non-finite sum, min or max")
			}
		}
		if st.SumSquares < 0 || st.Count > 0 && st.Min > st.Max {
			return bad("inconsistent sums or range")
		}
		switch {
		case st.QuantileSketch != nil:
			q, err := decodeQuantiles(st.QuantileSketch, st.Count)
			if err != nil {
				return bad("%v", err)
			}
			s.quant = q
		case st.Count > 0:
			s.quant = nil // a writer before quantile sketches
		}
		copy(s.bins, st.BinCounts)
		copy(s.qbins, st.QuantileCounts)
		s.sum, s.sumSq = st.Sum, st.SumSquares
		if st.Count > 0 {
			s.min, s.max = st.Min, st.Max
		}
	case kindCategorical:
		if len(st.BinCounts) != 0 || len(st.QuantileCounts) != 0 || st.Sum != 0 || st.SumSquares != 0 || st.QuantileSketch != nil {
			return bad("categorical state has numeric fields")
		}
		if st.Other < 0 {
			return bad("negative count")
		}
		total := st.Other
		for k, c := range st.Categories {
			if c < 0 {
				return bad("negative count for a category")
			}
			var ok bool
			if total, ok = addInt64(total, c); !ok {
				return bad("count overflow")
			}
			if c == 0 {
				continue
			}
			if k == "" || !utf8.ValidString(k) {
				return bad("empty or invalid UTF-8 category")
			}
			if _, ok := p.Categories[k]; !ok {
				if len(k) > MaxCategoryBytes {
					return bad("unseen category of %d bytes (at most %d are kept)", len(k), MaxCategoryBytes)
				}
				if len(s.unseen) == MaxCategories {
					return bad("more than %d unseen categories", MaxCategories)
				}
				s.unseen = append(s.unseen, rank{fnv1a(k), k})
			}
			s.cats[k] = c
		}
		if total != st.Count {
			return bad("categories add up to %d, count is %d", total, st.Count)
		}
		heap.Init(&s.unseen)
		s.other = st.Other
	default:
		if st.Count != 0 {
			return bad("profile kind %q holds no values", p.Kind)
		}
	}
	return s, nil
}

// checkCounts checks that counts are non-negative and add up to total.
func checkCounts(counts []int64, total int64) error {
	var sum int64
	for _, c := range counts {
		if c < 0 {
			return errors.New("negative count")
		}
		var ok bool
		if sum, ok = addInt64(sum, c); !ok {
			return errors.New("count overflow")
		}
	}
	if sum != total {
		return fmt.Errorf("add up to %d, count is %d", sum, total)
	}
	return nil
}
