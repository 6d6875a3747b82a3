package reference_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/services/reference"
	"github.com/driftline/driftline/services/stats"
)

// FuzzFromCSV checks that any input gives either an error that names the
// input, or a valid, deterministic profile; never a panic. The seed corpus
// is in testdata/fuzz/FuzzFromCSV.
func FuzzFromCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,x\n2,y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := reference.Options{Name: "fuzz.csv", CreatedAt: time.Unix(1, 0), MaxDistinct: 50}
		p, err := reference.FromCSV(bytes.NewReader(data), opts)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		if p.RowCount <= 0 || len(p.Features) == 0 {
			t.Fatalf("empty profile without an error: %+v", p)
		}
		for i := range p.Features {
			fp := &p.Features[i]
			if err := stats.ValidateProfile(fp); err != nil {
				t.Fatal(err)
			}
			if fp.Count+fp.Missing != p.RowCount {
				t.Fatalf("feature %q: %d values + %d missing in %d rows", fp.Name, fp.Count, fp.Missing, p.RowCount)
			}
			// A sketch of the profile takes values and states without panicking.
			s := stats.NewSketch(fp)
			s.Add("x")
			s.Add(1.5)
			stats.Drift(fp, s)
		}
		again, err := reference.FromCSV(bytes.NewReader(data), opts)
		if err != nil || again.ReferenceID != p.ReferenceID || p.ReferenceID != reference.ID(p) {
			t.Fatalf("not deterministic: %v, %s, %s", err, p.ReferenceID, again.ReferenceID)
		}
	})
}
