package stats_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/stats"
)

// AddFeature must count a decoded feature exactly as Add counts the same
// value boxed, on every kind of profile.
func TestAddFeatureAgreesWithAdd(t *testing.T) {
	num := numericProfile(t, 2000, 1)
	cat := categoricalProfile(t, 50)
	unknown := &schemas.FeatureProfile{Name: "u", Kind: "embedding"}
	values := []schemas.Feature{
		{Type: schemas.FeatureNull},
		{Type: schemas.FeatureDouble, Double: 0.5},
		{Type: schemas.FeatureDouble, Double: -3},
		{Type: schemas.FeatureDouble, Double: 7},
		{Type: schemas.FeatureDouble, Double: math.NaN()},
		{Type: schemas.FeatureDouble, Double: math.Inf(-1)},
		{Type: schemas.FeatureDouble, Double: 1e300},
		{Type: schemas.FeatureLong, Long: 3},
		{Type: schemas.FeatureLong, Long: -1 << 62},
		{Type: schemas.FeatureString, Str: "c1"},
		{Type: schemas.FeatureString, Str: "new"},
		{Type: schemas.FeatureString, Str: ""},
		{Type: schemas.FeatureString, Str: "\xff"},
		{Type: schemas.FeatureString, Str: strings.Repeat("x", stats.MaxCategoryBytes+1)},
		{Type: schemas.FeatureBoolean, Bool: true},
		{Type: schemas.FeatureBoolean, Bool: false},
	}
	for _, p := range []*schemas.FeatureProfile{num, cat, unknown} {
		t.Run(p.Kind, func(t *testing.T) {
			typed, boxed := stats.NewSketch(p), stats.NewSketch(p)
			for i := range values {
				typed.AddFeature(&values[i])
				boxed.Add(values[i].Value())
			}
			if got, want := typed.State(), boxed.State(); !reflect.DeepEqual(got, want) {
				t.Fatalf("AddFeature state\n %+v\nAdd state\n %+v", got, want)
			}
		})
	}
	// A type outside the union is a mismatch, as any unknown Go type is
	// for Add.
	s := stats.NewSketch(num)
	s.AddFeature(&schemas.Feature{Type: 9})
	if st := s.State(); st.TypeMismatches != 1 || st.Missing != 0 {
		t.Fatalf("unknown type: %+v", st)
	}
}
