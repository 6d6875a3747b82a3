package reference

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// oldColumn is column as it was before distinct: one map from text to
// count. column must count the same and fail at the same value.
type oldColumn struct {
	numeric   bool
	floats    []float64
	nonFinite int64
	missing   int64
	cats      map[string]int64
}

func (c *oldColumn) add(v string, maxDistinct int) error {
	if isMissing(v) {
		c.missing++
		return nil
	}
	if c.numeric {
		if f, ok := parseNumberStrconv(v); !ok {
			c.numeric = false
			c.floats = nil
		} else if math.IsNaN(f) || math.IsInf(f, 0) {
			c.nonFinite++
		} else {
			c.floats = append(c.floats, f)
		}
	}
	if c.cats == nil {
		if c.numeric {
			return nil
		}
		return fmt.Errorf("more than %d distinct values, so not a categorical feature; leave it out with Options.Exclude or raise Options.MaxDistinct", maxDistinct)
	}
	if n, ok := c.cats[v]; ok {
		c.cats[v] = n + 1
		return nil
	}
	if !utf8.ValidString(v) {
		return errors.New("value is not valid UTF-8")
	}
	if len(c.cats) >= maxDistinct {
		c.cats = nil
		if c.numeric {
			return nil
		}
		return fmt.Errorf("more than %d distinct values, so not a categorical feature; leave it out with Options.Exclude or raise Options.MaxDistinct", maxDistinct)
	}
	c.cats[strings.Clone(v)] = 1
	return nil
}

// checkColumn feeds values to a column and an oldColumn and fails t
// unless they agree after every value.
func checkColumn(t *testing.T, values []string, maxDistinct int) {
	t.Helper()
	c := &column{numeric: true, cats: newDistinct()}
	o := &oldColumn{numeric: true, cats: map[string]int64{}}
	for i, v := range values {
		err, oerr := c.add(v, maxDistinct), o.add(v, maxDistinct)
		if fmt.Sprint(err) != fmt.Sprint(oerr) {
			t.Fatalf("values %q, at %d: error %v, want %v", values, i, err, oerr)
		}
		var cats map[string]int64
		if c.cats != nil {
			cats = c.cats.counts()
		}
		got := fmt.Sprintf("%v %v %d %d %v", c.numeric, c.floats, c.nonFinite, c.missing, cats)
		want := fmt.Sprintf("%v %v %d %d %v", o.numeric, o.floats, o.nonFinite, o.missing, o.cats)
		if got != want {
			t.Fatalf("values %q, after %d:\ngot  %s\nwant %s", values, i, got, want)
		}
		if err != nil {
			return
		}
	}
}

func TestColumnCounts(t *testing.T) {
	for _, tt := range []struct {
		values      string
		maxDistinct int
	}{
		{"1,1.0,1, 1,1e0,2,1.0", 10},
		{"1,1.0,1,x,1.0,1,2,x,1e0", 10},
		{"0,-0,0.0,-0.0,0,-0", 10},
		{"inf,Inf,+inf,-inf,infinity,inf,1", 10},
		{"1,2,3,4,5,1,2", 3},
		{"1,2,3,1,x", 3},
		{"1,2,3,4,x", 3},
		{"a,1,b,1.0,1", 10},
		{"1,\xff,1", 10},
		{"NA,,1,null, 2 ,2", 10},
	} {
		checkColumn(t, strings.Split(tt.values, ","), tt.maxDistinct)
	}
}

// FuzzColumn checks column against the plain map it replaced on
// arbitrary values (a line each).
func FuzzColumn(f *testing.F) {
	f.Add("1\n1.0\n1\nx\n1.0", uint8(3))
	f.Add("0\n-0\ninf\nInf\n2", uint8(10))
	f.Fuzz(func(t *testing.T, values string, maxDistinct uint8) {
		checkColumn(t, strings.Split(values, "\n"), int(maxDistinct%20)+1)
	})
}
