package reference_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/reference"
	"github.com/driftline/driftline/services/stats"
)

var update = flag.Bool("update", false, "rewrite testdata/ref.golden.json")

var goldenOptions = reference.Options{
	Name:         "ref.csv",
	ModelID:      "churn",
	ModelVersion: "3",
	Categorical:  []string{"zip"},
	Exclude:      []string{"id"},
	CreatedAt:    time.Date(2024, 6, 1, 12, 0, 0, 123456789, time.UTC),
}

func TestFromCSVGolden(t *testing.T) {
	f, err := os.Open("testdata/ref.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := reference.FromCSV(f, goldenOptions)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile("testdata/ref.golden.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/ref.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("profile differs from testdata/ref.golden.json (go test -update rewrites it):\n%s", got)
	}

	// What the golden file should say, spelled out.
	kinds := map[string]string{}
	for i := range p.Features {
		fp := &p.Features[i]
		kinds[fp.Name] = fp.Kind
		if err := stats.ValidateProfile(fp); err != nil {
			t.Error(err)
		}
	}
	want2 := map[string]string{
		"age": schemas.KindNumeric, "income": schemas.KindNumeric, "city": schemas.KindCategorical,
		"zip": schemas.KindCategorical, "member": schemas.KindCategorical, "const": schemas.KindNumeric,
		"empty": schemas.KindNumeric, "score": schemas.KindNumeric,
	}
	if len(kinds) != len(want2) {
		t.Errorf("features %v, want %v", kinds, want2)
	}
	for k, v := range want2 {
		if kinds[k] != v {
			t.Errorf("feature %s: kind %q, want %q", k, kinds[k], v)
		}
	}
	if p.RowCount != 12 || p.ReferenceID != reference.ID(p) || !p.CreatedAt.Equal(time.Date(2024, 6, 1, 12, 0, 0, 123000000, time.UTC)) {
		t.Errorf("rows %d, id %s, created %v", p.RowCount, p.ReferenceID, p.CreatedAt)
	}
	feature := func(name string) *schemas.FeatureProfile {
		for i := range p.Features {
			if p.Features[i].Name == name {
				return &p.Features[i]
			}
		}
		t.Fatalf("no feature %s", name)
		return nil
	}
	if f := feature("age"); f.Count != 10 || f.Missing != 2 {
		t.Errorf("age: count %d missing %d", f.Count, f.Missing)
	}
	if f := feature("income"); f.Count != 10 || f.Max != 1e5 {
		t.Errorf("income: count %d max %v", f.Count, f.Max)
	}
	if f := feature("city"); f.Missing != 1 || f.Categories["Paris, FR"] != 1 || f.Categories["Paris"] != 5 {
		t.Errorf("city: %+v", f)
	}
	if f := feature("zip"); f.Categories["06000"] != 1 {
		t.Errorf("zip keeps its text: %v", f.Categories)
	}
	if f := feature("score"); f.Count != 11 || f.Missing != 1 {
		t.Errorf("score: inf is missing: count %d missing %d", f.Count, f.Missing)
	}
	if f := feature("empty"); f.Count != 0 || f.Missing != 12 {
		t.Errorf("empty: %+v", f)
	}
	if f := feature("const"); len(f.BinEdges) != 0 || !slices.Equal(f.BinCounts, []int64{12}) || f.Std != 0 {
		t.Errorf("const: %+v", f)
	}
}

func TestFromCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		csv  string
		opts reference.Options
		want string
	}{
		{"empty input", "", reference.Options{}, "t.csv: empty input: a header row is required"},
		{"header only", "a,b\n", reference.Options{}, "t.csv: no data rows"},
		{"ragged short", "a,b\n1,2\n3\n", reference.Options{}, "t.csv:3: row has 1 fields, the header has 2"},
		{"ragged long", "a,b\n1,2,3\n", reference.Options{}, "t.csv:2: row has 3 fields, the header has 2"},
		{"ragged after a multi-line field", "a,b\n\"x\ny\",1\n2\n", reference.Options{}, "t.csv:4: row has 1 fields, the header has 2"},
		{"bare quote", "a,b\n1,x\"y\n", reference.Options{}, "t.csv:2:4: bare \" in non-quoted-field"},
		{"unterminated quote", "a,b\n1,\"xy\n", reference.Options{}, "t.csv:2:7: extraneous or missing \" in quoted-field"},
		{"invalid UTF-8", "a,b\n1,x\n2,\xff\n", reference.Options{}, "t.csv:3: column \"b\": value is not valid UTF-8"},
		{"too many categories", "a\nw\nx\ny\nz\n", reference.Options{MaxDistinct: 3},
			"t.csv:5: column \"a\": more than 3 distinct values, so not a categorical feature; leave it out with Options.Exclude or raise Options.MaxDistinct"},
		{"numbers, then text past the limit", "a\n1\n2\n3\nx\n", reference.Options{MaxDistinct: 2},
			"t.csv:5: column \"a\": more than 2 distinct values, so not a categorical feature; leave it out with Options.Exclude or raise Options.MaxDistinct"},
		{"duplicate column", "a,b,a\n1,2,3\n", reference.Options{}, "t.csv:1: column \"a\" appears twice (fields 1 and 3)"},
		{"unknown column", "a,b\n1,2\n", reference.Options{Columns: []string{"c"}}, "t.csv: Options.Columns: no column \"c\" in the header"},
		{"unknown exclusion", "a,b\n1,2\n", reference.Options{Exclude: []string{"c"}}, "t.csv: Options.Exclude: no column \"c\" in the header"},
		{"unknown categorical", "a,b\n1,2\n", reference.Options{Categorical: []string{"c"}}, "t.csv: Options.Categorical: no column \"c\" in the header"},
		{"nothing left", "a,b\n1,2\n", reference.Options{Exclude: []string{"a", "b"}}, "t.csv: no columns to profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Name = "t.csv"
			_, err := reference.FromCSV(strings.NewReader(tc.csv), tc.opts)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v\nwant      %s", err, tc.want)
			}
		})
	}
}

func TestFromCSVKinds(t *testing.T) {
	for _, tc := range []struct {
		values []string
		kind   string
	}{
		{[]string{"1", "2.5", "-3e2", " 4 ", ".5", "NA"}, schemas.KindNumeric},
		{[]string{"1", "Inf", "-infinity", "1e400"}, schemas.KindNumeric}, // all but 1 missing
		{[]string{"", "NA", "none"}, schemas.KindNumeric},                 // no values: vacuously numeric
		{[]string{"1", "2", "x"}, schemas.KindCategorical},
		{[]string{"true", "false"}, schemas.KindCategorical},
		{[]string{"1_000", "2"}, schemas.KindCategorical}, // not a decimal number to pandas
		{[]string{"0x1p3", "2"}, schemas.KindCategorical},
		{[]string{"1,5", "2"}, schemas.KindCategorical},
	} {
		csv := "v\n" + strings.Join(quoteAll(tc.values), "\n") + "\n"
		p, err := reference.FromCSV(strings.NewReader(csv), reference.Options{Name: "k.csv"})
		if err != nil {
			t.Errorf("%q: %v", tc.values, err)
			continue
		}
		if got := p.Features[0].Kind; got != tc.kind {
			t.Errorf("%q: kind %s, want %s", tc.values, got, tc.kind)
		}
	}
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = `"` + x + `"`
	}
	return out
}

func TestFromColumnsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cols []reference.Column
	}{
		{"no columns", nil},
		{"no name", []reference.Column{{Numbers: []float64{1}}}},
		{"duplicate", []reference.Column{{Name: "a", Numbers: []float64{1}}, {Name: "a", Numbers: []float64{2}}}},
		{"both slices", []reference.Column{{Name: "a", Numbers: []float64{1}, Strings: []string{"x"}}}},
		{"neither slice", []reference.Column{{Name: "a"}}},
		{"kind mismatch", []reference.Column{{Name: "a", Kind: schemas.KindNumeric, Strings: []string{"x"}}}},
		{"unknown kind", []reference.Column{{Name: "a", Kind: "text", Strings: []string{"x"}}}},
		{"lengths differ", []reference.Column{{Name: "a", Numbers: []float64{1, 2}}, {Name: "b", Strings: []string{"x"}}}},
		{"no rows", []reference.Column{{Name: "a", Numbers: []float64{}}}},
		{"invalid UTF-8", []reference.Column{{Name: "a", Strings: []string{"\xff"}}}},
	} {
		if _, err := reference.FromColumns("m", "1", tc.cols); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// The ID depends on the data only: not on row order, model, version or
// time; and any change to the data changes it.
func TestIDIsAContentHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 5000)
	cs := make([]string, len(xs))
	for i := range xs {
		xs[i] = math.Round(rng.NormFloat64()*1000) / 100
		cs[i] = string(rune('a' + rng.IntN(20)))
	}
	xs[7] = math.Copysign(0, -1)
	build := func(model string, xs []float64, cs []string) *schemas.ReferenceProfile {
		p, err := reference.FromColumns(model, "1", []reference.Column{{Name: "x", Numbers: xs}, {Name: "c", Strings: cs}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := build("m", xs, cs)
	perm := rng.Perm(len(xs))
	xs2, cs2 := make([]float64, len(xs)), make([]string, len(cs))
	for i, j := range perm {
		xs2[i], cs2[i] = xs[j], cs[j]
		if xs2[i] == 0 {
			xs2[i] = 0 // +0 where the first had -0
		}
	}
	if other := build("other-model", xs2, cs2); other.ReferenceID != base.ReferenceID {
		t.Error("shuffled rows or another model changed the ID")
	}
	xs2[0] = math.Nextafter(xs2[0], math.Inf(1))
	if changed := build("m", xs2, cs2); changed.ReferenceID == base.ReferenceID {
		t.Error("changed data kept the ID")
	}
	if len(base.ReferenceID) != 64 {
		t.Errorf("ID %q is not hex SHA-256", base.ReferenceID)
	}
}

// Properties package stats relies on, over samples of many shapes.
func TestNumericProfileInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	gens := map[string]func() float64{
		"normal":    rng.NormFloat64,
		"rounded":   func() float64 { return math.Round(rng.NormFloat64() * 3) },
		"heavy tie": func() float64 { return math.Max(0, rng.NormFloat64()) },
		"few":       func() float64 { return float64(rng.IntN(4)) },
		"exp":       func() float64 { return rng.ExpFloat64() * 1e6 },
	}
	for name, gen := range gens {
		for _, n := range []int{1, 2, 7, 10, 11, 99, 101, 1000, 5000} {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = gen()
			}
			p, err := reference.FromColumns("m", "1", []reference.Column{{Name: "x", Numbers: xs}})
			if err != nil {
				t.Fatal(err)
			}
			f := &p.Features[0]
			if err := stats.ValidateProfile(f); err != nil {
				t.Fatalf("%s n=%d: %v", name, n, err)
			}
			for i, c := range f.BinCounts {
				if c == 0 {
					t.Errorf("%s n=%d: reference PSI bin %d is empty: %v", name, n, i, f.BinCounts)
				}
			}
			for _, e := range f.BinEdges {
				if _, ok := slices.BinarySearch(f.QuantileEdges, e); !ok {
					t.Errorf("%s n=%d: bin edge %v is not a quantile edge", name, n, e)
				}
			}
			if f.QuantileEdges[0] != f.Min || f.QuantileCounts[0] != 0 || f.QuantileCounts[len(f.QuantileCounts)-1] != 0 {
				t.Errorf("%s n=%d: quantile bins do not bracket the range: %v %v", name, n, f.QuantileEdges, f.QuantileCounts)
			}
			if len(f.BinCounts) > reference.Bins || len(f.QuantileCounts) > max(reference.Quantiles, reference.ExactRows)+2 {
				t.Errorf("%s n=%d: %d bins, %d quantile bins", name, n, len(f.BinCounts), len(f.QuantileCounts))
			}
			// Up to ExactRows values, every distinct value is an edge, so
			// KS is exact; past it, percentiles bound the profile's size.
			distinct := len(slices.Compact(slices.Sorted(slices.Values(xs))))
			if n <= reference.ExactRows && len(f.QuantileEdges) < distinct {
				t.Errorf("%s n=%d: %d quantile edges for %d distinct values", name, n, len(f.QuantileEdges), distinct)
			}
			if n > reference.ExactRows && len(f.QuantileCounts) > reference.Quantiles+2 {
				t.Errorf("%s n=%d: %d quantile bins past ExactRows", name, n, len(f.QuantileCounts))
			}
		}
	}
}

func TestCategoricalCap(t *testing.T) {
	var xs []string
	for i := 0; i < reference.MaxCategories+10; i++ {
		for j := 0; j <= i%4; j++ {
			xs = append(xs, "v"+strings.Repeat("x", i%3)+string(rune('A'+i%26))+string(rune('0'+i/26%10))+string(rune('a'+i/260)))
		}
	}
	p, err := reference.FromColumns("m", "1", []reference.Column{{Name: "c", Strings: xs}})
	if err != nil {
		t.Fatal(err)
	}
	f := &p.Features[0]
	if err := stats.ValidateProfile(f); err != nil {
		t.Fatal(err)
	}
	if len(f.Categories) != reference.MaxCategories+1 || f.Categories[stats.OtherCategory] == 0 {
		t.Errorf("%d categories, other %d", len(f.Categories), f.Categories[stats.OtherCategory])
	}
	if f.UniqueCount != int64(reference.MaxCategories+10) || f.Count != int64(len(xs)) {
		t.Errorf("unique %d count %d", f.UniqueCount, f.Count)
	}
}
