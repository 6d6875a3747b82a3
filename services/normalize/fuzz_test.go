package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// jsonSeeds are JSON inputs for the JSON fuzz targets.
var jsonSeeds = []string{
	`{"request_id":"r1","model_id":"m","timestamp":"2026-11-23T10:00:00Z","features":{"a":1,"b":"x","c":null,"d":true},"prediction":{"class":"1","score":0.5},"segments":{"s":"eu"}}`,
	`[{"request_id":"r1","model_id":"m","timestamp":1,"features":{}},{"request_id":"r2","model_id":"m","timestamp":2,"features":{"a":-0.5e3}}]`,
	`{"request_id":"r1","model_id":"m","timestamp":1,"features":{"a":1,"a":"x"},"features":{"b":2}}`,
	`{"a":"\u00e9\ud83d\ude00\ud800x","b":"\\\"\/\b\f\n\r\t","request_id":"\u0072"}`,
	`{"request_id": `, `[]`, `null`, `{"features":{"a":[1]}}`, `{"timestamp":1e300}`, `{"x":{"y":{"z":[[[{}]]]}}}`,
	`{"request_id":"r","model_id":"m","timestamp":1,"features":{},"prediction":{"class":1e2,"score":"0.5","x":[{"y":1}],"score":2,"value":1e999}}`,
	`{"request_id":"r","model_id":"m","timestamp":1,"features":{"\u0061":1,"a":2},"prediction":{"cl\u0061ss":"x","probabilities":{"a":"0.1"}}}`,
	"{\"a\":\"\xff\xfe\"}", `{"a":01}`, `{"a":1.}`, `{"a":-}`, `[1,]`, `{"a":1,}`, ` {} `, `{"a":tru}`,
}

// The hand-written JSON parser agrees with encoding/json: it accepts
// exactly the valid documents (within the depth limit) and reads the same
// values.
func FuzzJSONParser(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := jsonParser{b: b, maxDepth: 1000}
		v, err := p.value(0)
		if err == nil {
			err = p.end()
		}
		valid := json.Valid(b)
		if (err == nil) != valid {
			t.Fatalf("parser error %v, encoding/json valid = %v", err, valid)
		}
		if !valid {
			if ClassOf(err) != ClassMalformed {
				t.Fatalf("invalid JSON gave class %s: %v", ClassOf(err), err)
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(v, normalizeStd(want)) {
			t.Fatalf("parser read %#v, encoding/json %#v", v, want)
		}
		// Skipping moves past the same bytes without building anything.
		q := jsonParser{b: b, maxDepth: 1000}
		if err := q.skip(0); err != nil || q.end() != nil {
			t.Fatalf("skip failed on a valid document: %v", err)
		}
	})
}

// normalizeStd turns encoding/json's map[string]any into Documents (the
// same type) recursively; it exists to make the comparison explicit.
func normalizeStd(v any) any {
	switch x := v.(type) {
	case map[string]any:
		d := Document{}
		for k, e := range x {
			d[k] = normalizeStd(e)
		}
		return d
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeStd(e)
		}
		return out
	}
	return v
}

// The JSON plan (the fast path) gives what the Document path gives: the
// same events, or a failure of the same class.
func FuzzPlan(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s), false, uint8(0))
		f.Add([]byte(s), true, uint8(1))
	}
	f.Add([]byte(`{"m":{"id":"r","t":1700000000},"f":{"a":"1","b":"yes"},"p":{"c":"x"},"k":{"a":1}}`), false, uint8(2))
	srcs := fuzzSources(f)
	// Scratches that earlier inputs filled: decoding into them must give
	// what decoding afresh gives.
	var planScratch, docScratch Scratch
	f.Fuzz(func(t *testing.T, b []byte, lines bool, which uint8) {
		src := srcs[int(which)%len(srcs)]
		name := FormatJSON
		if lines {
			name = FormatJSONLines
		}
		fast, ferr := src.decodeJSON(b, lines, nil)
		slow, serr := src.decodeDocuments(name, b, "", nil)
		if (ferr == nil) != (serr == nil) || ClassOf(ferr) != ClassOf(serr) {
			t.Fatalf("plan: %v; documents: %v", ferr, serr)
		}
		if ferr == nil && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("plan read %s, documents %s", show(fast), show(slow))
		}
		if ferr != nil && ClassOf(ferr) == "internal" {
			t.Fatalf("unclassified error %v", ferr)
		}
		into, ierr := src.decodeJSON(b, lines, &planScratch)
		if fmt.Sprint(ierr) != fmt.Sprint(ferr) || ferr == nil && !reflect.DeepEqual(into, fast) {
			t.Fatalf("plan into a scratch: %s, %v; afresh: %s, %v", show(into), ierr, show(fast), ferr)
		}
		into, ierr = src.decodeDocuments(name, b, "", &docScratch)
		if fmt.Sprint(ierr) != fmt.Sprint(serr) || serr == nil && !reflect.DeepEqual(into, slow) {
			t.Fatalf("documents into a scratch: %s, %v; afresh: %s, %v", show(into), ierr, show(slow), serr)
		}
	})
}

func show(evs []Event) string {
	b, _ := json.Marshal(evs)
	return string(b)
}

// fuzzSources are the sources the decoding fuzz targets run: canonical
// inferences and labels, and a mapped source with nested paths, renames,
// defaults, types and a path both read whole and below.
func fuzzSources(t testing.TB) []*Source {
	t.Helper()
	mapped, err := Load([]byte(`
sources:
  mapped:
    max_documents: 5
    max_depth: 8
    mapping:
      request_id: m.id
      model_id: {path: m.model, default: fuzz}
      timestamp: {path: m.t, type: epoch_seconds}
      features:
        from: f
        rename: {a: alpha}
        exclude: [z]
        fields:
          b: {path: f.b, type: bool}
          n: {path: k.a, type: number}
      segments: {from: s, type: string}
      prediction:
        from: p
        class: p.c
`), SourcesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return []*Source{decoder{Source: "app"}.src(), decoder{Source: "labels", Kind: KindLabel}.src(), mapped.Lookup("mapped")}
}

// Every format's decoding of hostile bytes ends in events or a classified
// failure, never a panic; accepted inferences carry their required fields.
func FuzzDecodeFormats(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s), "application/json")
	}
	for _, s := range []string{
		"request_id,model,ts,a\nr1,m,1700000000,2\n", "a,\"b\nc\",d\n", "\"unterminated\n", "x,y",
		`<r><request_id>r1</request_id><model_id>m</model_id><timestamp>1</timestamp><features><a>1</a></features></r>`,
		`<a><b x="1"><c/><c>2</c></b></a>`, `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`, `<a>&lt;</a><b/>`, `<?xml version="1.0" encoding="latin1"?><a/>`,
	} {
		f.Add([]byte(s), "text/csv")
		f.Add([]byte(s), "application/xml")
	}
	for _, smp := range sampleSeeds(f) {
		f.Add(smp.data, smp.contentType)
	}
	srcs, err := Load([]byte(`
sources:
  any:
    max_documents: 50
    max_depth: 16
    max_columns: 8
    csv: {header: true}
    mapping:
      features: {from: features}
`), SourcesOptions{})
	if err != nil {
		f.Fatal(err)
	}
	src := srcs.Lookup("any")
	f.Fuzz(func(t *testing.T, b []byte, contentType string) {
		evs, err := src.Decode(b, contentType)
		if err != nil {
			var fl *Failure
			if !errors.As(err, &fl) || ClassOf(err) == "internal" {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if len(evs) == 0 || len(evs) > 50 {
			t.Fatalf("%d events from one record", len(evs))
		}
		for _, ev := range evs {
			e := ev.Inference
			if e == nil || e.RequestID == "" || e.ModelID == "" || e.Features == nil || e.EventTime.IsZero() {
				t.Fatalf("accepted an incomplete inference %+v", ev)
			}
		}
	})
}

// Adapt puts every record of any input in exactly one of its outputs, for
// every framing.
func FuzzAdapt(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n{\"b\":\n[1,2] x"), uint8(0))
	f.Add([]byte("a,b\n1,\"2\n3\"\n\n4,5,6\n"), uint8(1))
	f.Add([]byte("<?xml version=\"1.0\"?><a/><b><c/></b>junk<d>"), uint8(2))
	f.Add([]byte("\x00\x00\x00\x02{}\x00\x00\x00\x09{\"a\":1}"), uint8(3))
	for i, smp := range sampleSeeds(f) {
		f.Add(smp.data, uint8(i))
	}
	srcs, err := Load([]byte(`
sources:
  s:
    max_record_bytes: 64
    csv: {columns: [a, b]}
`), SourcesOptions{})
	if err != nil {
		f.Fatal(err)
	}
	src := srcs.Lookup("s")
	formats := []string{FormatJSON, FormatCSV, FormatXML, FormatJSONLines}
	framings := []string{FramingAuto, FramingAuto, FramingAuto, FramingLength, FramingWhole, FramingLines}
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		var out, dead bytes.Buffer
		opts := StreamOptions{Format: formats[int(which)%len(formats)], Framing: framings[int(which)%len(framings)], Now: func() time.Time { return time.Unix(0, 0) }}
		c, err := src.Adapt(bytes.NewReader(b), &out, &dead, opts)
		if err != nil {
			t.Fatalf("adapt: %v", err)
		}
		if got := int64(bytes.Count(dead.Bytes(), []byte{'\n'})); got != c.DeadLetters {
			t.Fatalf("%d dead-letter lines, counted %d", got, c.DeadLetters)
		}
		if got := int64(bytes.Count(out.Bytes(), []byte{'\n'})); got != c.Events {
			t.Fatalf("%d event lines, counted %d", got, c.Events)
		}
		if c.DeadLetters > c.Records || (c.Events == 0 && c.DeadLetters != c.Records) {
			t.Fatalf("counts %+v: a record is lost or counted twice", c)
		}
	})
}

type sampleSeed struct {
	data        []byte
	contentType string
}

// sampleSeeds are the sample payloads under testdata/samples, the fuzz
// targets' realistic seeds.
func sampleSeeds(t testing.TB) []sampleSeed {
	t.Helper()
	var out []sampleSeed
	for _, s := range [][2]string{{"legacy-crm.json", "application/json"}, {"fraud-soap.xml", "text/xml"},
		{"churn-csv.csv", "text/csv"}, {"app-batch.jsonl", "application/x-ndjson"}, {"labels-csv.csv", "text/csv"}} {
		file, ct := s[0], s[1]
		b, err := os.ReadFile(filepath.Join("testdata", "samples", file))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sampleSeed{b, ct})
	}
	return out
}

// Loading any mapping file gives sources or an error, never a panic, and
// the sources it gives decode a canonical record without panicking.
func FuzzLoad(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "samples", "mappings.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("sources:\n  a: {format: csv, csv: {header: true}, mapping: {features: {from: ., exclude: [x]}}}\n"))
	f.Add([]byte("sources: {a: {mapping: {timestamp: {path: t, type: layout, layout: '2006'}, label: x}}}"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		srcs, err := Load(b, SourcesOptions{})
		if err != nil {
			return
		}
		for _, n := range srcs.Names() {
			srcs.Lookup(n).Decode([]byte(jsonSeeds[0]), "")
		}
	})
}

// parseNumber's fast path gives strconv's float for every JSON number.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "42", "0.1", "-123.456", "999999999999999", "9999999999999999", "1.7976931348623157e308", "0.30000000000000004", "5e-324"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := jsonParser{b: []byte(s), maxDepth: 1}
		num, err := p.number()
		if err != nil || p.i != len(s) {
			return // not a JSON number
		}
		got, gerr := parseNumber([]byte(num))
		want, werr := strconv.ParseFloat(s, 64)
		if (gerr == nil) != (werr == nil) || (gerr == nil && math.Float64bits(got) != math.Float64bits(want)) {
			t.Fatalf("parseNumber(%q) = %v, %v; strconv %v, %v", s, got, gerr, want, werr)
		}
	})
}
