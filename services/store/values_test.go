package store

import (
	"testing"
	"time"
)

func TestValueReaders(t *testing.T) {
	for _, tc := range []struct {
		in   any
		f    float64
		i    int64
		fErr bool
		iErr bool
	}{
		{int64(-3), -3, -3, false, false},
		{uint64(7), 7, 7, false, false},
		{2.0, 2, 2, false, false},
		{2.5, 2.5, 0, false, true},
		{nil, 0, 0, false, true},
		{"1", 0, 0, true, true},
	} {
		f, err := Float(tc.in)
		if (err != nil) != tc.fErr || f != tc.f {
			t.Errorf("Float(%#v) = %v, %v", tc.in, f, err)
		}
		i, err := Int(tc.in)
		if (err != nil) != tc.iErr || i != tc.i {
			t.Errorf("Int(%#v) = %v, %v", tc.in, i, err)
		}
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600))
	if got, err := Time(now); err != nil || !got.Equal(now) || got.Location() != time.UTC {
		t.Errorf("Time = %v, %v", got, err)
	}
	if _, err := Time("2026"); err == nil {
		t.Error("Time accepted a string")
	}
	if q := Quote(`it's \ here`); q != `'it\'s \\ here'` {
		t.Errorf("Quote = %s", q)
	}
}
