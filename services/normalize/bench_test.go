package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// benchEvent is a canonical inference with n features, a quarter of them
// categorical.
func benchEvent(i, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"request_id":"req-%06d","model_id":"churn-model","model_version":"v1","variant":"production","timestamp":"2026-11-23T10:00:00.123Z","features":{`, i)
	for j := range n {
		if j > 0 {
			b.WriteByte(',')
		}
		if j%4 == 3 {
			fmt.Fprintf(&b, `"cat_%d":"value-%d"`, j, (i+j)%7)
		} else {
			fmt.Fprintf(&b, `"num_%d":%d.%d`, j, (i*31+j*17)%1000, j)
		}
	}
	b.WriteString(`},"prediction":{"class":"churn","score":0.83},"latency_ms":12.5,"segments":{"region":"eu"}}`)
	return b.Bytes()
}

// benchRecords is 64 canonical 20-feature events, told apart by their
// request ids and values.
func benchRecords() [][]byte {
	var recs [][]byte
	for i := range 64 {
		recs = append(recs, benchEvent(i, 20))
	}
	return recs
}

func benchDecode(b *testing.B, src *Source, records [][]byte, contentType string, perRecord int) {
	b.Helper()
	benchLoop(b, records, perRecord, func(rec []byte) error {
		evs, err := src.Decode(rec, contentType)
		if err == nil && len(evs) == 0 {
			err = errors.New("no events")
		}
		return err
	})
}

// benchLoop reads the records in turn with read, reporting bytes and
// allocations per record and records (of perRecord events) per
// CPU-second.
func benchLoop(b *testing.B, records [][]byte, perRecord int, read func(rec []byte) error) {
	b.Helper()
	var bytes int64
	for _, r := range records {
		bytes += int64(len(r))
	}
	b.SetBytes(bytes / int64(len(records)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		if err := read(records[i%len(records)]); err != nil {
			b.Fatalf("record %d: %v", i, err)
		}
	}
	reportPerCore(b, cpu0, perRecord)
}

// cpuTime is the process's user+system CPU time: on a shared machine,
// records per CPU-second is the rate one core sustains, whatever the
// load, where records per wall-clock second is not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerCore reports records (and events, perRecord per record) per
// CPU-second since cpu0.
func reportPerCore(b *testing.B, cpu0 time.Duration, perRecord int) {
	b.Helper()
	cpu := cpuTime() - cpu0
	if cpu <= 0 {
		return
	}
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
	if perRecord > 1 {
		b.ReportMetric(float64(perRecord*b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

// BenchmarkJSON is the adapter's main path: a canonical JSON inference
// with 20 features, no mapping file.
func BenchmarkJSON(b *testing.B) {
	benchDecode(b, decoder{Source: "app"}.src(), benchRecords(), "", 1)
}

// BenchmarkJSONInto is BenchmarkJSON as the adapter decodes: into a
// Scratch, whose events and maps each record reuses.
func BenchmarkJSONInto(b *testing.B) {
	src := decoder{Source: "app"}.src()
	var sc Scratch
	benchLoop(b, benchRecords(), 1, func(rec []byte) error {
		evs, err := src.DecodeInto(rec, "", &sc)
		if err == nil && len(evs) == 0 {
			err = errors.New("no events")
		}
		return err
	})
}

// BenchmarkJSONMapped reads the nested legacy sample through its mapping.
func BenchmarkJSONMapped(b *testing.B) {
	src := loadSamples(b).Lookup("legacy-crm")
	in, err := os.ReadFile(filepath.Join("testdata", "samples", "legacy-crm.json"))
	if err != nil {
		b.Fatal(err)
	}
	n, err := skipJSONValue(in, 64)
	if err != nil {
		b.Fatal(err)
	}
	benchDecode(b, src, [][]byte{in[:n]}, "", 1)
}

// BenchmarkJSONLines reads records of 10 canonical 20-feature events.
func BenchmarkJSONLines(b *testing.B) {
	src := decoder{Source: "app"}.src()
	var rec []byte
	for i := range 10 {
		rec = append(append(rec, benchEvent(i, 20)...), '\n')
	}
	benchDecode(b, src, [][]byte{rec}, "application/x-ndjson", 10)
}

// BenchmarkCSV reads one-row records of the CSV sample's shape.
func BenchmarkCSV(b *testing.B) {
	srcs := loadSamples(b)
	src, err := NewSource("bench-csv", SourceConfig{Format: FormatCSV,
		CSV:     &CSVConfig{Columns: []string{"request_id", "model", "version", "ts", "age", "plan", "notes", "score", "predicted"}},
		Mapping: sampleMapping(b, srcs, "churn-csv")}, SourcesOptions{})
	if err != nil {
		b.Fatal(err)
	}
	benchDecode(b, src, [][]byte{[]byte(`r-1,churn-model,v1,2026-11-23 10:00:00,42,pro,"likes ""fast"" support, calls often",0.83,churn`)}, "", 1)
}

// BenchmarkXML reads the SOAP sample's first envelope (two events).
func BenchmarkXML(b *testing.B) {
	src := loadSamples(b).Lookup("fraud-soap")
	in, err := os.ReadFile(filepath.Join("testdata", "samples", "fraud-soap.xml"))
	if err != nil {
		b.Fatal(err)
	}
	end := bytes.Index(in, []byte("</soap:Envelope>")) + len("</soap:Envelope>")
	benchDecode(b, src, [][]byte{in[:end]}, "", 2)
}

// BenchmarkJSONStdlibBaseline is encoding/json decoding the same records
// into map[string]any, without any mapping: the reference the fast path is
// measured against on a busy machine.
func BenchmarkJSONStdlibBaseline(b *testing.B) {
	benchLoop(b, benchRecords(), 1, func(rec []byte) error {
		dec := json.NewDecoder(bytes.NewReader(rec))
		dec.UseNumber()
		var m map[string]any
		return dec.Decode(&m)
	})
}

// BenchmarkJSONDocuments is the canonical record through the Document path
// (what every non-JSON format takes), for comparison with BenchmarkJSON.
func BenchmarkJSONDocuments(b *testing.B) {
	src := decoder{Source: "app"}.src()
	benchLoop(b, benchRecords(), 1, func(rec []byte) error {
		_, err := src.decodeDocuments(FormatJSON, rec, "", nil)
		return err
	})
}
