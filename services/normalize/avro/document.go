package avro

import (
	"math/big"
	"time"

	"github.com/driftline/driftline/services/normalize"
)

// converter turns goavro's native values (unions already resolved by
// schemas.Generic) into Document values, in place: records and maps are
// already map[string]any, which is what Document is.
type converter struct {
	decimalString bool
	maxDepth      int
}

func (c converter) value(v any, depth int) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if depth >= c.maxDepth {
			return nil, failf(normalize.ClassTooLarge, "record nested deeper than %d levels", c.maxDepth)
		}
		for k, e := range x {
			if !convertible(e) {
				continue
			}
			y, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = y
		}
		return x, nil
	case []any:
		if depth >= c.maxDepth {
			return nil, failf(normalize.ClassTooLarge, "record nested deeper than %d levels", c.maxDepth)
		}
		for i, e := range x {
			if !convertible(e) {
				continue
			}
			y, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = y
		}
		return x, nil
	case *big.Rat:
		if c.decimalString {
			return decimalText(x), nil
		}
		f, _ := x.Float64()
		return f, nil
	case time.Duration:
		return x.Milliseconds(), nil
	}
	// goavro's other native types (nil, bool, int32, int64, float32,
	// float64, string, []byte, and time.Time in UTC) are Document types.
	return v, nil
}

// convertible reports whether value has to be looked at: containers and the
// logical types goavro gives as types Document does not list.
func convertible(v any) bool {
	switch v.(type) {
	case map[string]any, []any, *big.Rat, time.Duration:
		return true
	}
	return false
}

// decimalText writes r exactly, with as many decimals as it needs: an Avro
// decimal is an integer over a power of ten, so after big.Rat reduces it the
// denominator is 2^a·5^b and max(a, b) decimals suffice. (Trailing zeros of
// the schema's scale are not kept: 1.50 reads "1.5".)
func decimalText(r *big.Rat) string {
	d := new(big.Int).Set(r.Denom())
	var twos, fives int
	two, five, zero, m := big.NewInt(2), big.NewInt(5), big.NewInt(0), new(big.Int)
	for d.Cmp(big.NewInt(1)) > 0 {
		switch {
		case m.Mod(d, two).Cmp(zero) == 0:
			d.Quo(d, two)
			twos++
		case m.Mod(d, five).Cmp(zero) == 0:
			d.Quo(d, five)
			fives++
		default:
			return r.FloatString(20) // not a decimal; cannot come from goavro
		}
	}
	return r.FloatString(max(twos, fives))
}
