package reference_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/driftline/driftline/services/reference"
)

func TestRowReader(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		columns []string
		want    [][]string // rows as read, when no error
		wantErr string     // substring of the first error
	}{
		{name: "rows", input: "\uFEFFa,b\n1,x\n\n2,\"y,z\"\r\n", columns: []string{"b", "a"},
			want: [][]string{{"x", "1"}, {"y,z", "2"}}},
		{name: "empty", input: "", wantErr: "cur.csv: empty input: a header row is required"},
		{name: "missing column", input: "a,b\n1,2\n", columns: []string{"c"}, wantErr: `cur.csv:1: no column "c" in the header`},
		{name: "duplicate column", input: "a,b,a\n1,2,3\n", columns: []string{"a"}, wantErr: `cur.csv:1: column "a" appears twice (fields 1 and 3)`},
		{name: "duplicate unused column", input: "a,b,b\n1,2,3\n", columns: []string{"a"}, want: [][]string{{"1"}}},
		{name: "ragged", input: "a,b\n1,2\n3\n", columns: []string{"a"}, wantErr: "cur.csv:3: row has 1 fields, the header has 2"},
		{name: "bare quote", input: "a,b\n1,2\n3,x\"y\n", columns: []string{"a"}, wantErr: "cur.csv:3:4: bare \" in non-quoted-field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.input, tt.columns)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("rows %q, want %q", got, tt.want)
			}
			for i := range got {
				if strings.Join(got[i], "|") != strings.Join(tt.want[i], "|") {
					t.Errorf("row %d: %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// readAll reads every row, each as the named columns' fields.
func readAll(input string, columns []string) ([][]string, error) {
	rr, err := reference.NewRowReader(strings.NewReader(input), "cur.csv")
	if err != nil {
		return nil, err
	}
	idx, err := rr.Index(columns)
	if err != nil {
		return nil, err
	}
	if len(columns) == 0 {
		for i := range rr.Header() {
			idx = append(idx, i)
		}
	}
	var out [][]string
	for {
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		row := make([]string, len(idx))
		for k, i := range idx {
			row[k] = rec[i]
		}
		out = append(out, row)
	}
}

func TestRowReaderErrorf(t *testing.T) {
	rr, err := reference.NewRowReader(strings.NewReader("a,b\n1,2\n\n3,x\n"), "cur.csv")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := rr.Next(); err != nil {
			t.Fatal(err)
		}
	}
	err = rr.Errorf(1, "value is not a number: %w", io.ErrUnexpectedEOF)
	if want := `cur.csv:4: column "b": value is not a number: unexpected EOF`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("Errorf does not wrap %w")
	}
}

// ParseNumeric and IsMissing follow FromCSV's rules, spelled out.
func TestParseNumeric(t *testing.T) {
	tests := []struct {
		field       string
		x           float64
		missing, ok bool
	}{
		{"1.5", 1.5, false, true},
		{" -2e3 ", -2000, false, true},
		{"", 0, true, true},
		{"NA", 0, true, true},
		{" nan ", 0, true, true},
		{"None", 0, true, true},
		{"NULL", 0, true, true},
		{"inf", 0, true, true},
		{"-Infinity", 0, true, true},
		{"1e999", 0, true, true}, // beyond float64: missing, as FromCSV
		{"0x10", 0, false, false},
		{"1_000", 0, false, false},
		{"abc", 0, false, false},
		{"N/A", 0, false, false},
	}
	for _, tt := range tests {
		x, missing, ok := reference.ParseNumeric(tt.field)
		if x != tt.x || missing != tt.missing || ok != tt.ok {
			t.Errorf("ParseNumeric(%q) = %v, %v, %v; want %v, %v, %v", tt.field, x, missing, ok, tt.x, tt.missing, tt.ok)
		}
		if reference.IsMissing(tt.field) && !missing {
			t.Errorf("IsMissing(%q) but ParseNumeric says not missing", tt.field)
		}
	}
}
