package reference

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// readCSV is what a reading of a CSV file gives: the header, the rows,
// the line of every field, and the error that ended it (nil at EOF).
type readCSV struct {
	header []string
	rows   [][]string
	lines  [][]int
	err    string
}

// readWithEncodingCSV reads data as RowReader did with encoding/csv, the
// reference the fast reader must match.
func readWithEncodingCSV(data []byte, name string) readCSV {
	var out readCSV
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		out.err = fmt.Sprintf("%s: empty input: a header row is required", name)
		return out
	}
	if err != nil {
		out.err = csvError(name, err).Error()
		return out
	}
	out.header = slices.Clone(header)
	out.header[0] = strings.TrimPrefix(out.header[0], "\uFEFF")
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			out.err = csvError(name, err).Error()
			return out
		}
		if len(rec) != len(out.header) {
			line, _ := cr.FieldPos(0)
			out.err = fmt.Sprintf("%s:%d: row has %d fields, the header has %d", name, line, len(rec), len(out.header))
			return out
		}
		lines := make([]int, len(rec))
		for j := range rec {
			lines[j], _ = cr.FieldPos(j)
		}
		out.rows = append(out.rows, slices.Clone(rec))
		out.lines = append(out.lines, lines)
	}
}

// readWithRowReader reads data with RowReader, through Next when batch
// is 0, else through readBatch in batches of that many rows; a positive
// bufSize replaces the read buffer's size, and oneByte has the source
// return a byte at a time.
func readWithRowReader(data []byte, name string, batch, bufSize int, oneByte bool) readCSV {
	var out readCSV
	var src io.Reader = bytes.NewReader(data)
	if oneByte {
		src = iotest.OneByteReader(src)
	}
	rr, err := newRowReader(src, name, bufSize)
	if err != nil {
		out.err = err.Error()
		return out
	}
	out.header = slices.Clone(rr.Header())
	add := func(b *rowBatch) {
		for i := range b.len() {
			lines := make([]int, b.width)
			for j := range lines {
				lines[j] = b.line(i, j)
			}
			out.rows = append(out.rows, slices.Clone(b.row(i)))
			out.lines = append(out.lines, lines)
		}
	}
	if batch == 0 {
		for {
			row, err := rr.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				out.err = err.Error()
				return out
			}
			if got := strings.Join(row, "\x00"); got != strings.Join(rr.last.row(0), "\x00") {
				out.err = "Next's row is not the last row"
			}
			add(rr.last)
		}
	}
	b := newRowBatch(len(out.header))
	for {
		err := rr.readBatch(b, batch)
		add(b)
		if err == io.EOF {
			return out
		}
		if err != nil {
			out.err = err.Error()
			return out
		}
		if b.len() != batch {
			out.err = fmt.Sprintf("short batch of %d rows without an error", b.len())
			return out
		}
	}
}

// checkSameAsEncodingCSV fails t unless every way of reading data with
// RowReader gives what encoding/csv gives.
func checkSameAsEncodingCSV(t *testing.T, data []byte) {
	t.Helper()
	want := readWithEncodingCSV(data, "in.csv")
	for _, mode := range []struct {
		batch, bufSize int
		oneByte        bool
	}{
		{0, 0, false}, {1, 0, false}, {3, 0, false}, {batchRows, 0, false},
		{0, 4, false}, {2, 7, true}, {batchRows, 16, false},
	} {
		got := readWithRowReader(data, "in.csv", mode.batch, mode.bufSize, mode.oneByte)
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
			t.Fatalf("input %q, batch %d, buffer %d, one byte %v:\ngot  %#v\nwant %#v",
				data, mode.batch, mode.bufSize, mode.oneByte, got, want)
		}
	}
}

func TestCSVReaderMatchesEncodingCSV(t *testing.T) {
	long := strings.Repeat("x", 70_000)
	inputs := []string{
		"",
		"\n\n",
		"a",
		"a\n",
		"a,b\n1,2\n",
		"a,b\n1,2",
		"a,b\r\n1,2\r\n\r\n3,4\r\n",
		"a,b\r\n1,2\r",
		"a,b\n1,2\r\r\n3,4\r\r",
		"a,b\n1\r2,3\n",
		"\r\na,b\n\r\n1,2\n",
		"\r",
		"a,b\n\r",
		"\n\na,b\n\n\n1,2\n\n",
		"\uFEFFa,b\n1,2\n",
		"\uFEFF\"a\",b\n1,2\n",
		"\"\uFEFFa\",b\n1,2\n",
		"a,b\n\"1\",\"2\"\n",
		"a,b\n\"x,y\",\"say \"\"hi\"\"\"\n",
		"a,b\n\"multi\nline\",2\n3,4\n",
		"a,b\n\"multi\r\nline\",\"and\n\nmore\"\n3,4\n",
		"a,b\n1,\"multi\nline\"\n3,4\n",
		"a,b\n\"\",\"\"\n",
		"a,b\n\"\"\"\",2\n",
		"a,b\n1,2\n3,x\"y\n",
		"a,b\n1,2\n\"3\"x,4\n",
		"a,b\n1,2\n\"3\n4,5\n",
		"a,b\n1,2\n\"3",
		"a,b\n1,2\n\"",
		"a,b\n\"x\n\r",
		"a,b\n\"x\"\r",
		"a,b\n\"x\"\rz,1\n",
		"a,b\n\"x\"\r\n",
		"a,b\n1,\"x\"",
		"a,b\n1,\"x\",\n",
		"a,b\n1,\n",
		"a,b\n,\n",
		"a,b\n1,2,3\n",
		"a,b\n1\n",
		"a,b\n\"1\"\n",
		"a,b\n\"multi\nline\"\n",
		"a,b\n\"1,2\",\"3\nmulti\",4\n",
		"a,b,c\n1,2,3\n4,5\n6,7,8\n",
		"a,\"b\nc\"\n1,2\n",
		"a,b\n" + long + "," + long + "\n1,2\n",
		"a,b\n\"" + long + "\n" + long + "\",2\n",
		"a,b\n1,2\n\"x\"\"y\n\"\"z\",\"\"\"\"\n",
		" a , b \n 1 , \"2\"\n",
		"a,b\n\"1\" ,2\n",
		"a,b\n1, \"2\"\n",
		"a,b\n\xff\xfe,\"\xff\"\n",
		"a;b\n1;2\n",
		"a\tb\n",
		"a,b\n1,2\n\x00,\x00\n",
	}
	// Many rows, more than a batch and than the fast path's strings hold,
	// with now and then a quote, \r\n, an empty line or a line break in
	// quotes.
	var many strings.Builder
	many.WriteString("a,b,c\n")
	for i := range 5000 {
		switch {
		case i%997 == 0:
			fmt.Fprintf(&many, "\"%d\nx\",\"q\"\"\",%d\r\n", i, i)
		case i%331 == 0:
			fmt.Fprintf(&many, "\n%d,,%d\r\n", i, i)
		default:
			fmt.Fprintf(&many, "%d,value-%d,%d.5\n", i, i%50, i)
		}
	}
	inputs = append(inputs, many.String(), many.String()+"1,2\n")
	for _, in := range inputs {
		checkSameAsEncodingCSV(t, []byte(in))
	}

	// Every CSV file the repository tests with.
	var files []string
	for _, pattern := range []string{"testdata/*.csv", "../../tools/driftline/testdata/*.csv", "../normalize/testdata/samples/*.csv"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("only %d CSV files found: %q", len(files), files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkSameAsEncodingCSV(t, data)
	}
}

// A reader that fails is an error naming the input, after the rows before.
func TestCSVReaderReadError(t *testing.T) {
	src := io.MultiReader(strings.NewReader("a,b\n1,2\n3,"), iotest.ErrReader(io.ErrUnexpectedEOF))
	rr, err := NewRowReader(src, "in.csv")
	if err != nil {
		t.Fatal(err)
	}
	if row, err := rr.Next(); err != nil || strings.Join(row, ",") != "1,2" {
		t.Fatalf("first row %q, %v", row, err)
	}
	_, err = rr.Next()
	if want := "in.csv: read: unexpected EOF"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	if _, again := rr.Next(); again != err {
		t.Errorf("second error %v, want the first again", again)
	}
}

// FuzzCSVReader checks RowReader against encoding/csv on arbitrary input.
// The seed corpus adds the tricky inputs of TestCSVReaderMatchesEncodingCSV
// and FuzzFromCSV's.
func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n",
		"a,b\r\n\"x\r\ny\",\"\"\"\"\r\n\r\n3,4",
		"a,b\n1,x\"y\n",
		"a,b\n\"3\"x,4\n",
		"a,b\n\"x\n",
		"\uFEFFa,b\n1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSameAsEncodingCSV(t, data)
	})
}
