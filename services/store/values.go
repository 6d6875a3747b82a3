package store

import (
	"fmt"
	"time"
)

// Quote returns s as a ClickHouse string literal, for values built into a
// query (model ids, variants).
func Quote(s string) string { return quoteString(s) }

// TimeLiteral returns t as a ClickHouse DateTime64(3, 'UTC') literal, for
// time bounds built into a query.
func TimeLiteral(t time.Time) string {
	return "toDateTime64('" + t.UTC().Format("2006-01-02 15:04:05.000") + "', 3, 'UTC')"
}

// Float reads a numeric result value (Float64, an integer type, or NULL as
// 0) as a float64.
func Float(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case nil:
		return 0, nil
	}
	return 0, fmt.Errorf("not a number: %T", v)
}

// Int reads an integer result value (or a whole Float64) as an int64.
func Int(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case uint64:
		return int64(x), nil
	case float64:
		if x == float64(int64(x)) {
			return int64(x), nil
		}
		return 0, fmt.Errorf("not a whole number: %v", x)
	}
	return 0, fmt.Errorf("not an integer: %T", v)
}

// Time reads a DateTime/DateTime64 result value.
func Time(v any) (time.Time, error) {
	if t, ok := v.(time.Time); ok {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("not a time: %T", v)
}
