package store

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// TestNativeRoundTrip checks the clickhouse-go half without a server: each
// Insert value, converted by toColumn, must be accepted by clickhouse-go's
// own column of that type, and what the column scans back, normalised by
// fromNative, must equal what the embedded store decodes from the engine's
// JSON for the same value, so both stores hand callers the same Go values.
func TestNativeRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 89_000_000, time.UTC)
	tests := []struct {
		typ  string
		in   any    // as a caller passes it to Insert
		json string // what the engine writes for it in JSONCompactEachRow
		want any    // what both stores return
	}{
		{"UInt32", uint32(7), `7`, uint64(7)},
		{"UInt32", int64(7), `7`, uint64(7)},
		{"UInt64", uint64(math.MaxUint64), `18446744073709551615`, uint64(math.MaxUint64)},
		{"UInt8", 200, `200`, uint64(200)},
		{"Int32", int32(-5), `-5`, int64(-5)},
		{"Int64", int64(math.MinInt64), `-9223372036854775808`, int64(math.MinInt64)},
		{"Int8", int64(-128), `-128`, int64(-128)},
		{"Float64", 0.25, `0.25`, 0.25},
		{"Float64", math.Inf(-1), `"-inf"`, math.Inf(-1)},
		{"Float32", 0.5, `0.5`, 0.5},
		{"Float64", int64(3), `3`, 3.0},
		{"Bool", true, `true`, true},
		{"String", "héllo", `"héllo"`, "héllo"},
		{"String", []byte{0xff, 0x00, 'x'}, "\"\xff\\u0000x\"", "\xff\x00x"},
		{"LowCardinality(String)", "drift", `"drift"`, "drift"},
		{"FixedString(3)", "abc", `"abc"`, "abc"},
		{"UUID", "00000000-0000-0000-0000-00000000000a", `"00000000-0000-0000-0000-00000000000a"`, "00000000-0000-0000-0000-00000000000a"},
		{"IPv4", "10.0.0.1", `"10.0.0.1"`, "10.0.0.1"},
		{"Enum8('a' = 1, 'b' = 2)", "b", `"b"`, "b"},
		{"Nullable(Float64)", 0.5, `0.5`, 0.5},
		{"Nullable(Float64)", nil, `null`, nil},
		{"Nullable(String)", "x", `"x"`, "x"},
		{"LowCardinality(Nullable(String))", nil, `null`, nil},
		{"DateTime64(3, 'UTC')", at, `"2026-03-04 05:06:07.089"`, at},
		{"DateTime64(3, 'Asia/Tokyo')", at, `"2026-03-04 14:06:07.089"`, at},
		{"DateTime('UTC')", at.Truncate(time.Second), `"2026-03-04 05:06:07"`, at.Truncate(time.Second)},
		{"Date", at, `"2026-03-04"`, time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)},
		{"Nullable(DateTime64(3, 'UTC'))", at, `"2026-03-04 05:06:07.089"`, at},
		{"Map(String, String)", map[string]string{"region": "eu"}, `{"region":"eu"}`, map[string]string{"region": "eu"}},
		{"Map(LowCardinality(String), String)", map[string]string{}, `{}`, map[string]string{}},
		{"Decimal(18, 2)", "1.25", `1.25`, "1.25"},
		{"Int128", int64(-5), `-5`, "-5"},
		{"UInt256", "115792089237316195423570985008687907853269984665640564039457584007913129639935", `115792089237316195423570985008687907853269984665640564039457584007913129639935`, "115792089237316195423570985008687907853269984665640564039457584007913129639935"},
	}
	sc := &column.ServerContext{Timezone: time.UTC}
	for _, tt := range tests {
		name := tt.typ + "/" + strings.ReplaceAll(tt.json, "/", "")
		typ := parseType(tt.typ)

		// Embedded: the engine's JSON, decoded.
		gotJSON, err := fromJSON([]byte(tt.json), typ, time.UTC)
		if err != nil {
			t.Errorf("%s: fromJSON: %v", name, err)
		} else if !equalValues(gotJSON, tt.want) {
			t.Errorf("%s: fromJSON = %#v; want %#v", name, gotJSON, tt.want)
		}

		// Embedded: what Insert writes for the value must be what the
		// engine writes back, so the engine reads it as that value.
		conv, err := toColumn(tt.in, typ)
		if err != nil {
			t.Errorf("%s: toColumn(%#v): %v", name, tt.in, err)
			continue
		}
		enc, err := appendJSONValue(nil, conv, typ, time.UTC)
		if err != nil {
			t.Errorf("%s: appendJSONValue: %v", name, err)
		} else if back, err := fromJSON(enc, typ, time.UTC); err != nil || !equalValues(back, tt.want) {
			t.Errorf("%s: Insert writes %s, which reads back as %#v, %v; want %#v", name, enc, back, err, tt.want)
		}

		// Server: clickhouse-go's column takes the converted value, encodes
		// it as it would for the server, decodes that as if the server had
		// sent it, and scans it back.
		col, err := nativeRoundTrip(tt.typ, conv, sc)
		if err != nil {
			t.Errorf("%s: clickhouse-go with %#v (%T): %v", name, conv, conv, err)
			continue
		}
		dest := reflect.New(col.ScanType())
		if err := col.ScanRow(dest.Interface(), 0); err != nil {
			t.Errorf("%s: clickhouse-go scan into %s: %v", name, col.ScanType(), err)
			continue
		}
		if got := fromNative(dest.Interface(), typ); !equalValues(got, tt.want) {
			t.Errorf("%s: fromNative(%s) = %#v; want %#v", name, col.ScanType(), got, tt.want)
		}
	}
}

// nativeRoundTrip puts v through clickhouse-go's Native format encoder and
// decoder for a one-row column of type typ, as a block does on the wire.
func nativeRoundTrip(typ string, v any, sc *column.ServerContext) (column.Interface, error) {
	in, err := column.Type(typ).Column("c", sc)
	if err != nil {
		return nil, err
	}
	if err := in.AppendRow(v); err != nil {
		return nil, err
	}
	var buf proto.Buffer
	if cs, ok := in.(column.CustomSerialization); ok {
		if err := cs.WriteStatePrefix(&buf); err != nil {
			return nil, err
		}
	}
	in.Encode(&buf)
	out, err := column.Type(typ).Column("c", sc)
	if err != nil {
		return nil, err
	}
	r := proto.NewReader(bytes.NewReader(buf.Buf))
	if cs, ok := out.(column.CustomSerialization); ok {
		if err := cs.ReadStatePrefix(r); err != nil {
			return nil, err
		}
	}
	if err := out.Decode(r, 1); err != nil {
		return nil, err
	}
	return out, nil
}

func equalValues(a, b any) bool {
	if fa, ok := a.(float64); ok {
		if fb, ok := b.(float64); ok && math.IsNaN(fa) && math.IsNaN(fb) {
			return true
		}
	}
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb) && ta.Location() == time.UTC
	}
	return reflect.DeepEqual(a, b)
}

func TestToColumnRejects(t *testing.T) {
	tests := []struct {
		typ     string
		in      any
		wantErr string
	}{
		{"UInt8", 256, "256 is out of range for UInt8"},
		{"UInt64", int64(-1), "-1 is out of range for UInt64"},
		{"Int8", 128, "128 is out of range for Int8"},
		{"Int8", -129, "-129 is out of range for Int8"},
		{"Int64", uint64(math.MaxInt64) + 1, "out of range for Int64"},
		{"UInt32", 1.0, "float64 value for a UInt32 column"},
		{"Float64", "1", "string value for a Float64 column"},
		{"Bool", "true", "string value for a Bool column"},
		{"DateTime64(3, 'UTC')", "2026-01-01", "string value for a DateTime64(3, 'UTC') column"},
		{"String", 5, "int value for a String column"},
		{"Map(String, String)", map[string]int{}, "map[string]int value"},
		{"Int128", "12x", `"12x" is not an integer`},
		{"UInt32", nil, "NULL in a column of type UInt32"},
	}
	for _, tt := range tests {
		_, err := toColumn(tt.in, parseType(tt.typ))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("toColumn(%#v, %s) = %v; want an error containing %q", tt.in, tt.typ, err, tt.wantErr)
		}
	}
}

func TestParseType(t *testing.T) {
	tests := []struct {
		in       string
		kind     kind
		nullable bool
		tz       string
		prec     int
	}{
		{"UInt32", kindUint, false, "", 0},
		{"Nullable(Float64)", kindFloat, true, "", 0},
		{"LowCardinality(Nullable(String))", kindString, true, "", 0},
		{"DateTime64(3, 'UTC')", kindTime, false, "UTC", 3},
		{"Nullable(DateTime64(6, 'Asia/Tokyo'))", kindTime, true, "Asia/Tokyo", 6},
		{"DateTime('Europe/Berlin')", kindTime, false, "Europe/Berlin", 0},
		{"DateTime", kindTime, false, "", 0},
		{"Map(String, Array(Tuple(a UInt8, b String)))", kindMap, false, "", 0},
		{"Tuple(\n    a UInt8,\n    b String)", kindTuple, false, "", 0},
		{"Enum8('a,b' = 1, 'c)' = 2)", kindString, false, "", 0},
		{"Decimal(18, 2)", kindBigText, false, "", 0},
		{"JSON", kindOther, false, "", 0},
	}
	for _, tt := range tests {
		typ := parseType(tt.in)
		base, nullable := typ.unwrap()
		if base.kind() != tt.kind || nullable != tt.nullable || base.timeZone() != tt.tz || base.precision() != tt.prec {
			t.Errorf("parseType(%q) = %+v: kind %v nullable %v tz %q precision %d; want %v %v %q %d",
				tt.in, typ, base.kind(), nullable, base.timeZone(), base.precision(), tt.kind, tt.nullable, tt.tz, tt.prec)
		}
	}
	if got := parseType("Tuple(\n    a UInt8,\n    b String)"); !reflect.DeepEqual(got.fields, []string{"a", "b"}) {
		t.Errorf("named tuple fields = %q; want a, b", got.fields)
	}
	if got := parseType("Enum8('a,b' = 1, 'c)' = 2)").params; len(got) != 2 {
		t.Errorf("enum params = %q; want two", got)
	}
}
