package reference

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// parseNumberStrconv is parseNumber as it was before parseSimple, the
// rules it must keep.
func parseNumberStrconv(s string) (float64, bool) {
	s = trimSpace(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '_' || c == 'x' || c == 'X' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

// isMissingFold is isMissing as it was before its first-byte check.
func isMissingFold(s string) bool {
	s = trimSpace(s)
	switch len(s) {
	case 0:
		return true
	case 2:
		return strings.EqualFold(s, "NA")
	case 3:
		return strings.EqualFold(s, "NaN")
	case 4:
		return strings.EqualFold(s, "null") || strings.EqualFold(s, "None")
	}
	return false
}

// checkParseNumber fails t unless isMissing agrees with isMissingFold, and parseNumber gives s the same float64,
// bit for bit, as parseNumberStrconv; and parseSimple, when it takes s,
// the same as strconv.ParseFloat.
func checkParseNumber(t *testing.T, s string) {
	t.Helper()
	if got, want := isMissing(s), isMissingFold(s); got != want {
		t.Fatalf("isMissing(%q) = %v, want %v", s, got, want)
	}
	got, ok := parseNumber(s)
	want, wantOK := parseNumberStrconv(s)
	if ok != wantOK || math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
		t.Fatalf("parseNumber(%q) = %v (%#x), %v; want %v (%#x), %v", s, got, math.Float64bits(got), ok, want, math.Float64bits(want), wantOK)
	}
	if f, key, ok := parseSimple(s); ok {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(f) != math.Float64bits(x) {
			t.Fatalf("parseSimple(%q) = %v (%#x); strconv.ParseFloat gives %v (%#x), %v", s, f, math.Float64bits(f), x, math.Float64bits(x), err)
		}
		if key != 0 && decimalText(key) != s {
			t.Fatalf("parseSimple(%q): key %#x, whose text is %q", s, key, decimalText(key))
		}
	}
	// Different texts must have different keys: a key's text is the text.
	if _, ok, key := parseNumberKey(s); key != 0 && (!ok || decimalText(key) != s) {
		t.Fatalf("parseNumberKey(%q): key %#x, whose text is %q", s, key, decimalText(key))
	}
}

func TestParseNumber(t *testing.T) {
	for _, tt := range []struct {
		s      string
		simple bool // parseSimple takes it
	}{
		{"0", true}, {"-0", true}, {"+0", true}, {"42", true}, {"-12.345", true}, {"1e-3", true},
		{"1E+05", true}, {".5", true}, {"5.", true}, {"-.5e1", true}, {"0.1", true}, {"0.3", true},
		{"123456789012345678", false}, {"1234567890123456", true}, {"9007199254740991", true}, {"1e22", true}, {"1e-22", true},
		{"000000000000000000000000000001.5", false}, {"0000000000000000001.5", false}, {"000000000000000001.5", true}, {"1.00000000000000000000000", false},
		{"9007199254740993", false}, {"12345678901234567890", false}, {"1e23", false}, {"1e-23", false},
		{"4.9e-324", false}, {"1.7976931348623157e308", false}, {"1e400", false}, {"-1e400", false},
		{"1e-400", false}, {"0e9999999999", false}, {"", false}, {".", false}, {"-", false}, {"e5", false},
		{"1e", false}, {"1e+", false}, {"1.2.3", false}, {"1_000", false}, {"0x10", false}, {"0x1p-2", false},
		{"inf", false}, {"-Infinity", false}, {"nan", false}, {"NaN", false}, {" 1.5 ", true}, {"\t-2\n", true},
		{"1 2", false}, {"++1", false}, {"NA", false}, {" nan ", false}, {"nULl", false}, {"NONE", false}, {"N", false}, {"na1", false}, {"1e5x", false}, {"0.1234567", true}, {"1234.5678e-10", true},
	} {
		checkParseNumber(t, tt.s)
		if _, _, ok := parseSimple(trimSpace(tt.s)); ok != tt.simple {
			t.Errorf("parseSimple(%q) takes it: %v, want %v", tt.s, ok, tt.simple)
		}
	}
}

// FuzzParseNumber checks parseNumber's fast path against strconv on
// arbitrary text.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"-12.345", "1e-3", "42", "0.1", ".5", "5.", "1e22", "9007199254740993", "1_0", "0x1p3", " 3 "} {
		f.Add(s)
	}
	f.Fuzz(checkParseNumber)
}

// BenchmarkParseNumber parses the numbers of the benchmark CSV's kinds.
func BenchmarkParseNumber(b *testing.B) {
	fields := []string{"-1.73827", "14.8049", "121.277", "932.685", "0.581832", "17", "2", "0", "1.63968", "23.0709"}
	for _, bb := range []struct {
		name  string
		parse func(string) (float64, bool)
	}{{"parseNumber", parseNumber}, {"strconv", parseNumberStrconv}} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				for _, s := range fields {
					if _, ok := bb.parse(s); !ok {
						b.Fatal(s)
					}
				}
			}
		})
	}
}

// TestDecimalKey checks which texts have a decimalKey: exactly those that
// are the text of their key.
func TestDecimalKey(t *testing.T) {
	for _, tt := range []struct {
		s     string
		plain bool
	}{
		{"0", true}, {"-0", true}, {"12", true}, {"-0.05", true}, {"1.5", true}, {"123.45", true},
		{"9007199254740991", true}, {"0.000000000000000001", true}, {"0.0000000000000000000001", false}, {"-10", true},
		{"+1", false}, {"01", false}, {"00", false}, {"1.0", false}, {"1.", false}, {".5", false},
		{"1e5", false}, {" 1", false}, {"1 ", false}, {"0.50", false}, {"-00.5", false}, {"-.5", false},
		{"9007199254740992", false}, {"0.00000000000000000000001", false}, {"inf", false},
		{"0.0", false}, {"-0.0", false},
	} {
		checkParseNumber(t, tt.s)
		_, ok, key := parseNumberKey(tt.s)
		if !ok || (key != 0) != tt.plain {
			t.Errorf("parseNumberKey(%q) = %v, key %#x; want a key: %v", tt.s, ok, key, tt.plain)
		}
	}
}
