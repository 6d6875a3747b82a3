package reference_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/driftline/driftline/services/reference"
)

// TestFromCSVFirstErrorWins checks that, with the columns read by several
// goroutines, FromCSV still reports the error a row-by-row read meets
// first: the earliest row, and in a row the first column.
func TestFromCSVFirstErrorWins(t *testing.T) {
	// Column c fails at row 300 (line 301), column b at row 700, and a
	// ragged row follows at row 900. Rows are read in batches, and with
	// two goroutines b and c are read by different ones.
	var sb strings.Builder
	sb.WriteString("a,b,c,d\n")
	for i := 1; i <= 1000; i++ {
		b, c := "x", "y"
		if i == 300 {
			c = "\xff"
		}
		if i == 700 {
			b = "\xfe"
		}
		if i == 900 {
			sb.WriteString("1,2\n")
			continue
		}
		fmt.Fprintf(&sb, "%d,%s,%s,z\n", i, b, c)
	}
	in := sb.String()
	for _, tc := range []struct {
		name    string
		exclude []string
		want    string
	}{
		{"c first", nil, `t.csv:301: column "c": value is not valid UTF-8`},
		{"then b", []string{"c"}, `t.csv:701: column "b": value is not valid UTF-8`},
		{"then the ragged row", []string{"b", "c"}, "t.csv:901: row has 2 fields, the header has 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := reference.FromCSV(strings.NewReader(in), reference.Options{Name: "t.csv", Exclude: tc.exclude})
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v\nwant      %s", err, tc.want)
			}
		})
	}

	// Two errors in one row: the first column's wins, whichever goroutine
	// reads it.
	two := "a,b,c,d\n1,x,y,z\n3,\xff,\xfe,z\n"
	_, err := reference.FromCSV(strings.NewReader(two), reference.Options{Name: "t.csv"})
	if want := `t.csv:3: column "b": value is not valid UTF-8`; err == nil || err.Error() != want {
		t.Errorf("error %v\nwant      %s", err, want)
	}

	// A field after a multi-line quoted field is on a later line than its
	// row's first field.
	multi := "a,b\n\"line\nbreak\",\xff\n"
	_, err = reference.FromCSV(strings.NewReader(multi), reference.Options{Name: "t.csv"})
	if want := `t.csv:3: column "b": value is not valid UTF-8`; err == nil || err.Error() != want {
		t.Errorf("error %v\nwant      %s", err, want)
	}
}

// TestFromCSVBatchesAreRowOrder checks that a profile does not depend on
// how rows fall into batches: the same rows in one column or spread over
// many give the same feature, and padding spaces around numbers and
// missing markers (the trimming fast path) read as without them.
func TestFromCSVBatchesAreRowOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var plain, padded strings.Builder
	plain.WriteString("x,y,z\n")
	padded.WriteString("x,y,z\n")
	for i := range 5000 {
		x := fmt.Sprintf("%.4f", rng.NormFloat64())
		y := []string{"a", "b", "c"}[rng.IntN(3)]
		z := fmt.Sprint(rng.IntN(7))
		if i%97 == 0 {
			x = "NA"
		}
		fmt.Fprintf(&plain, "%s,%s,%s\n", x, y, z)
		fmt.Fprintf(&padded, " %s\t,%s, %s \n", x, y, z)
	}
	a, err := reference.FromCSV(strings.NewReader(plain.String()), reference.Options{Name: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := reference.FromCSV(strings.NewReader(padded.String()), reference.Options{Name: "padded"})
	if err != nil {
		t.Fatal(err)
	}
	only, err := reference.FromCSV(strings.NewReader(plain.String()), reference.Options{Name: "plain", Columns: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 2} { // y keeps its text, so the padding counts there
		if fa, fb := fmt.Sprintf("%+v", a.Features[k]), fmt.Sprintf("%+v", b.Features[k]); fa != fb {
			t.Errorf("feature %d differs with padding:\n%s\n%s", k, fa, fb)
		}
	}
	if fa, fo := fmt.Sprintf("%+v", a.Features[0]), fmt.Sprintf("%+v", only.Features[0]); fa != fo {
		t.Errorf("feature x differs alone:\n%s\n%s", fa, fo)
	}
	if a.Features[0].Missing != 52 || a.Features[0].Count != 4948 {
		t.Errorf("x: count %d missing %d, want 4948 and 52", a.Features[0].Count, a.Features[0].Missing)
	}
}

// BenchmarkFromCSV profiles a CSV file of 10,000 rows, 8 numeric and 2
// categorical columns; DRIFTLINE_BENCH_CSV names a larger file to profile
// instead (tools/evidently/bench.py writes one).
func BenchmarkFromCSV(b *testing.B) {
	data := benchCSV(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := reference.FromCSV(bytes.NewReader(data), reference.Options{Name: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCSV returns the file DRIFTLINE_BENCH_CSV names, else 10,000 rows
// of 8 numeric and 2 categorical columns.
func benchCSV(b *testing.B) []byte {
	if path := os.Getenv("DRIFTLINE_BENCH_CSV"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var sb bytes.Buffer
	sb.WriteString("n0,n1,n2,n3,n4,n5,n6,n7,c0,c1\n")
	for range 10_000 {
		for j := range 8 {
			fmt.Fprintf(&sb, "%.6g,", rng.NormFloat64()*float64(j+1))
		}
		fmt.Fprintf(&sb, "k%d,%s\n", rng.IntN(50), []string{"yes", "no"}[rng.IntN(2)])
	}
	return sb.Bytes()
}

// TestForEachField checks that each column's fields arrive in row order
// (across many batches), that an error from add names its line and
// column and wraps the cause, and that a cancelled context stops the read.
func TestForEachField(t *testing.T) {
	const rows = 3000
	var sb strings.Builder
	sb.WriteString("a,skip,b,c\n")
	for i := range rows {
		fmt.Fprintf(&sb, "a%d,-,b%d,c%d\n", i, i, i)
	}
	in := sb.String()

	rr, err := reference.NewRowReader(strings.NewReader(in), "cur.csv")
	if err != nil {
		t.Fatal(err)
	}
	cols := []int{3, 0, 2} // c, a, b
	got := make([][]string, len(cols))
	n, err := rr.ForEachField(context.Background(), cols, func(k int, field string) error {
		got[k] = append(got[k], field) // one goroutine per k: no lock needed
		return nil
	})
	if err != nil || n != rows {
		t.Fatalf("ForEachField = %d, %v; want %d rows", n, err, rows)
	}
	for k, prefix := range []string{"c", "a", "b"} {
		if len(got[k]) != rows {
			t.Fatalf("column %s: %d fields, want %d", prefix, len(got[k]), rows)
		}
		for i, f := range got[k] {
			if want := fmt.Sprintf("%s%d", prefix, i); f != want {
				t.Fatalf("column %s, row %d: %q, want %q", prefix, i, f, want)
			}
		}
	}

	// Errors: column a fails at row 2500, column b at row 1200; b's is
	// first in the file, so it wins although a comes first in cols.
	cause := errors.New("bad value")
	rr, _ = reference.NewRowReader(strings.NewReader(in), "cur.csv")
	_, err = rr.ForEachField(context.Background(), []int{0, 2}, func(k int, field string) error {
		if field == "a2500" || field == "b1200" {
			return cause
		}
		return nil
	})
	if want := `cur.csv:1202: column "b": bad value`; err == nil || err.Error() != want || !errors.Is(err, cause) {
		t.Errorf("error %v, want %s wrapping the cause", err, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rr, _ = reference.NewRowReader(strings.NewReader(in), "cur.csv")
	if _, err := rr.ForEachField(ctx, cols, func(int, string) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v, want context.Canceled", err)
	}
}

// TestFromCSVManyRows checks a column of 150,000 numbers against
// FromColumns on the same numbers, and the categories of a column whose
// numbers, written in several ways, turn categorical near its end
// against a count of its texts.
func TestFromCSVManyRows(t *testing.T) {
	const rows = 150_000
	rng := rand.New(rand.NewPCG(5, 6))
	var sb strings.Builder
	sb.WriteString("x,m\n")
	xs := make([]float64, rows)
	ms := make([]string, rows)
	for i := range rows {
		s := fmt.Sprintf("%.5g", rng.NormFloat64())
		xs[i], _ = strconv.ParseFloat(s, 64)
		ms[i] = []string{"1", "1.0", " 1", "2", "2e0"}[rng.IntN(5)]
		if i == rows-10 {
			ms[i] = "x" // the column turns categorical near its end
		}
		fmt.Fprintf(&sb, "%s,%s\n", s, ms[i])
	}
	got, err := reference.FromCSV(strings.NewReader(sb.String()), reference.Options{Name: "many"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := reference.FromColumns("", "", []reference.Column{{Name: "x", Numbers: xs}, {Name: "m", Strings: ms}})
	if err != nil {
		t.Fatal(err)
	}
	for k := range want.Features {
		if g, w := fmt.Sprintf("%+v", got.Features[k]), fmt.Sprintf("%+v", want.Features[k]); g != w {
			t.Errorf("feature %d:\ngot  %s\nwant %s", k, g, w)
		}
	}
	if n := len(got.Features[1].Categories); n != 6 {
		t.Errorf("m has %d categories, want 6: %v", n, got.Features[1].Categories)
	}
}

// BenchmarkRowReader reads the CSV of BenchmarkFromCSV (or
// DRIFTLINE_BENCH_CSV) into rows, without parsing the fields.
func BenchmarkRowReader(b *testing.B) {
	data := benchCSV(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rr, err := reference.NewRowReader(bytes.NewReader(data), "bench")
		if err != nil {
			b.Fatal(err)
		}
		cols := make([]int, len(rr.Header()))
		for i := range cols {
			cols[i] = i
		}
		if _, err := rr.ForEachField(context.Background(), cols[:1], func(int, string) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
