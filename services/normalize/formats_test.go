package normalize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
)

func mustLoad(t *testing.T, y string) *Sources {
	t.Helper()
	s, err := Load([]byte(y), SourcesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantClass(t *testing.T, err error, class, msg string) {
	t.Helper()
	var f *Failure
	if !errors.As(err, &f) || f.Class != class || !strings.Contains(err.Error(), msg) {
		t.Errorf("err = %v, want class %s mentioning %q", err, class, msg)
	}
}

// A record's content-type header picks the format, parameters and case
// aside; types Driftline does not know fall back to the source's format;
// a known type the source has no config for is an unknown schema.
func TestContentType(t *testing.T) {
	src := mustLoad(t, `
sources:
  s:
    csv: {columns: [request_id, model_id, timestamp, a]}
    xml: {record: batch/event}
`).Lookup("s")
	canonical := `{"request_id":"r","model_id":"m","timestamp":1795428000,"features":{"a":1}}`
	for _, c := range []struct {
		ct, value string
		events    int
		class     string
	}{
		{"", canonical, 1, ""},
		{"text/plain", canonical, 1, ""},
		{"Application/JSON; charset=utf-8", canonical, 1, ""},
		{"application/x-ndjson", canonical + "\n\n" + canonical + "\n", 2, ""},
		{"application/jsonl", canonical, 1, ""},
		{"text/csv", "r,m,1795428000,1\nr2,m,1795428000,2", 2, ClassMissingField}, // csv rows have no features object
		{"text/xml", `<batch><event><request_id>r</request_id><model_id>m</model_id><timestamp>1795428000</timestamp><features><a>1</a></features></event><event/></batch>`, 0, ClassMissingField},
		{"application/avro", "\x00\x00\x00\x00\x01", 0, ClassUnknownSchema},
		{"application/x-protobuf", "\x08\x01", 0, ClassUnknownSchema},
	} {
		evs, err := src.Decode([]byte(c.value), c.ct)
		if c.class != "" {
			wantClass(t, err, c.class, "")
			continue
		}
		if err != nil || len(evs) != c.events {
			t.Errorf("%q: %d events, %v; want %d", c.ct, len(evs), err, c.events)
		}
	}
	if got := FormatForContentType("application/vnd.apache.avro+binary"); got != FormatAvro {
		t.Errorf("avro content type read as %q", got)
	}
}

// Documents of each format, and their limits.
func TestFormatLimits(t *testing.T) {
	l := Limits{MaxDepth: 4, MaxDocuments: 2, MaxColumns: 3}
	deep := `{"a":{"b":{"c":{"d":{}}}}}`
	for _, c := range []struct {
		name  string
		f     Format
		in    string
		docs  int
		class string
		msg   string
	}{
		{"json object", jsonFormat{l}, `{"a":1}`, 1, "", ""},
		{"json array", jsonFormat{l}, `[{"a":1},{"b":2}]`, 2, "", ""},
		{"json too many", jsonFormat{l}, `[{},{},{}]`, 0, ClassTooLarge, "more than 2 documents"},
		{"json too deep", jsonFormat{l}, deep, 0, ClassTooLarge, "deeper than 4"},
		{"json empty array", jsonFormat{l}, `[]`, 0, ClassMalformed, "no documents"},
		{"json scalar", jsonFormat{l}, `"x"`, 0, ClassMalformed, "not a JSON object"},
		{"jsonl", jsonLinesFormat{l}, "{}\n\n{}\n", 2, "", ""},
		{"jsonl bad line", jsonLinesFormat{l}, "{}\n{", 0, ClassMalformed, "line 2"},
		{"jsonl too many", jsonLinesFormat{l}, "{}\n{}\n{}", 0, ClassTooLarge, "more than 2"},
		{"xml root", mustXML(t, "", l), `<a x="1"><b>2</b><b>3</b><c/></a>`, 1, "", ""},
		{"xml too deep", mustXML(t, "", l), `<a><b><c><d><e/></d></c></b></a>`, 0, ClassTooLarge, "deeper than 4"},
		{"xml records", mustXML(t, "r/e", l), `<r><e/><x><e/></x><e>1</e></r>`, 2, "", ""},
		{"xml too many records", mustXML(t, "r/e", l), `<r><e/><e/><e/></r>`, 0, ClassTooLarge, "more than 2"},
		{"xml no record", mustXML(t, "r/e", l), `<r><x/></r>`, 0, ClassMalformed, "no r/e element"},
		{"xml two roots", mustXML(t, "", l), `<a/><b/>`, 0, ClassMalformed, "more than one root"},
		{"xml doctype", mustXML(t, "", l), `<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`, 0, ClassMalformed, "DOCTYPE"},
		{"xml external entity", mustXML(t, "", l), `<a>&xxe;</a>`, 0, ClassMalformed, "entity"},
		{"xml other charset", mustXML(t, "", l), `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, 0, ClassMalformed, "only UTF-8"},
		{"csv", mustCSV(t, CSVConfig{Columns: []string{"a", "b"}}, l), "1,\"x,y\"\n2,\"multi\nline\"", 2, "", ""},
		{"csv ragged", mustCSV(t, CSVConfig{Columns: []string{"a", "b"}}, l), "1,2,3", 0, ClassMalformed, "3 fields, want 2"},
		{"csv header too wide", mustCSV(t, CSVConfig{Header: true}, l), "a,b,c,d\n1,2,3,4", 0, ClassTooLarge, "limit of 3"},
		{"csv bad quote", mustCSV(t, CSVConfig{Columns: []string{"a"}}, l), `"x`, 0, ClassMalformed, "csv"},
		{"csv too many rows", mustCSV(t, CSVConfig{Columns: []string{"a"}}, l), "1\n2\n3", 0, ClassTooLarge, "more than 2 rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			docs, err := c.f.Documents([]byte(c.in))
			if c.class != "" {
				wantClass(t, err, c.class, c.msg)
				return
			}
			if err != nil || len(docs) != c.docs {
				t.Errorf("%d documents, %v; want %d", len(docs), err, c.docs)
			}
		})
	}
}

func mustXML(t *testing.T, record string, l Limits) Format {
	f, err := newXMLFormat(XMLConfig{Record: record}, l)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustCSV(t *testing.T, c CSVConfig, l Limits) Format {
	f, err := newCSVFormat(c, l)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// XML elements become documents: attributes as @name, repeated elements
// as lists, text beside attributes as #text, namespaces dropped.
func TestXMLDocument(t *testing.T) {
	docs, err := mustXML(t, "", Limits{}).Documents([]byte(
		`<s:Env xmlns:s="urn:s"><s:v unit="ms">12</s:v><i>1</i><i>2</i><e/><t>  x  </t></s:Env>`))
	if err != nil {
		t.Fatal(err)
	}
	d := docs[0]
	v := d["v"].(Document)
	if v["@unit"] != "ms" || v["#text"] != "12" || len(d["i"].([]any)) != 2 || d["e"] != nil || d["t"] != "x" {
		t.Errorf("document %#v", d)
	}
	if _, ok := d["@s"]; ok {
		t.Errorf("namespace declaration kept as data: %#v", d)
	}
	for _, p := range []struct {
		path string
		want any
	}{{"v", "12"}, {"v.@unit", "ms"}, {"i.1", "2"}, {"i.0", "1"}} {
		cp, _ := compilePath(p.path)
		got, _ := cp.lookup(d)
		if text(got) != p.want {
			t.Errorf("path %s = %v, want %v", p.path, got, p.want)
		}
	}
}

// Type coercion: string numbers, epoch seconds, millis and micros,
// ISO-8601, layouts, booleans.
func TestCoercion(t *testing.T) {
	want := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		enc, layout string
		v           any
	}{
		{TimeEpochSeconds, "", "1795428000"},
		{TimeEpochMillis, "", 1795428000000.0},
		{TimeEpochMicros, "", "1795428000000000"},
		{TimeISO8601, "", "2026-11-23T11:00:00+01:00"},
		{TimeAuto, "", "2026-11-23 10:00:00"},
		{TimeAuto, "", int64(1795428000)},
		{TimeLayout, "02/01/2006 15h04", "23/11/2026 10h00"},
	} {
		got, f := toTime("t", c.enc, c.layout, c.v)
		if f != nil || !got.Equal(want) {
			t.Errorf("%s %v: %v, %v", c.enc, c.v, got, f)
		}
	}
	for _, c := range []struct {
		v    any
		want bool
	}{{"Y", true}, {"no", false}, {"TRUE", true}, {"0", false}, {1.0, true}, {true, true}} {
		if got, f := toBool("b", c.v); f != nil || got != c.want {
			t.Errorf("bool %v: %v, %v", c.v, got, f)
		}
	}
	for _, bad := range []any{"maybe", 2.0, Document{}} {
		if _, f := toBool("b", bad); f == nil || f.Class != ClassWrongType {
			t.Errorf("bool %v accepted", bad)
		}
	}
	for _, bad := range []any{"NaN", "inf", "1e999", "x", true} {
		if _, f := toNumber("n", bad); f == nil || f.Class != ClassWrongType {
			t.Errorf("number %v accepted", bad)
		}
	}
	if _, f := toTime("t", TimeEpochSeconds, "", -5); f == nil {
		t.Error("negative epoch accepted")
	}
}

// Duplicates within the horizon are caught, redeliveries at the first
// position are not, and the set stays within its bounds.
func TestDedup(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	d := NewDedup(DedupConfig{Horizon: time.Minute, MaxEntries: 3})
	inf := func(ids ...string) []Event {
		var out []Event
		for _, id := range ids {
			out = append(out, Event{Inference: infEvent(id)})
		}
		return out
	}
	if f := d.CheckDuplicates(inf("a"), 0, 1, t0); f != nil {
		t.Fatal(f)
	}
	if f := d.CheckDuplicates(inf("a"), 0, 2, t0.Add(time.Second)); f == nil || f.Class != ClassDuplicate || !strings.Contains(f.Error(), "offset 1") {
		t.Errorf("duplicate: %v", f)
	}
	if f := d.CheckDuplicates(inf("a"), 0, 1, t0.Add(time.Second)); f != nil {
		t.Errorf("the first record again (a redelivery) is a duplicate: %v", f)
	}
	if f := d.CheckDuplicates(inf("a"), 0, 3, t0.Add(61*time.Second)); f != nil {
		t.Errorf("past the horizon: %v", f)
	}
	if f := d.CheckDuplicates(inf("b", "b"), 1, 1, t0.Add(61*time.Second)); f == nil || !strings.Contains(f.Error(), "twice in the record") {
		t.Errorf("twice in one record: %v", f)
	}
	if d.Len() != 1 {
		t.Errorf("a rejected record was remembered: %d ids", d.Len())
	}
	for i, id := range []string{"c", "d", "e", "f"} {
		if f := d.CheckDuplicates(inf(id), 2, int64(i), t0.Add(62*time.Second)); f != nil {
			t.Fatal(f)
		}
	}
	if d.Len() != 3 {
		t.Errorf("%d ids remembered, want the bound 3", d.Len())
	}
	if f := d.CheckDuplicates(inf("c"), 2, 99, t0.Add(62*time.Second)); f != nil {
		t.Errorf("the oldest id was not forgotten at the bound: %v", f)
	}
}

// Stream splits each framing into records and accounts for every one.
func TestStreamFramings(t *testing.T) {
	srcs := mustLoad(t, `
sources:
  s:
    max_record_bytes: 100
    csv: {header: true}
`)
	src := srcs.Lookup("s")
	long := strings.Repeat("x", 300)
	frame := func(parts ...string) string {
		var b bytes.Buffer
		for _, p := range parts {
			binary.Write(&b, binary.BigEndian, uint32(len(p)))
			b.WriteString(p)
		}
		return b.String()
	}
	for _, c := range []struct {
		name, format, framing, in string
		values                    []string
	}{
		{"json values", FormatJSON, "", " {\"a\":1}\n[{}]{\"b\":\"}\"} 7 {bad", []string{`{"a":1}`, `[{}]`, `{"b":"}"}`, `7`, `{bad`}},
		{"jsonl lines", FormatJSONLines, "", "{}\r\n\n  \n{\"a\":2}\n" + long + "\n{}", []string{`{}`, `{"a":2}`, long[:101], `{}`}},
		{"csv lines with header", FormatCSV, "", "a,b\n1,\"x\ny\"\n2,3\n", []string{"1,\"x\ny\"", "2,3"}},
		{"xml elements", FormatXML, "", `<?xml version="1.0"?><a x="1"><b/></a> <!-- c --> <c>t</c>oops<d>`, []string{`<a x="1"><b/></a>`, `<c>t</c>`, `oops`, `<d>`}},
		{"length", FormatJSON, FramingLength, frame(`{}`, long, `{"a":1}`) + "\x00\x00", []string{`{}`, long[:101], `{"a":1}`, "\x00\x00"}},
		{"whole", FormatJSON, FramingWhole, "{}\n{}", []string{"{}\n{}"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			err := src.Stream(strings.NewReader(c.in), StreamOptions{Format: c.format, Framing: c.framing}, func(r StreamRecord) error {
				got = append(got, string(r.Value))
				if (r.Err == nil) == (len(r.Events) == 0) && r.Err == nil {
					t.Errorf("record %d: neither events nor a failure", r.Index)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(c.values, "|") {
				t.Errorf("records %q, want %q", got, c.values)
			}
		})
	}
}

// Mapping files are checked at start-up; errors name the source, the
// field and the problem, and all problems are reported at once.
func TestLoadErrors(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "sources:\n  a:\n    formt: json\n", []string{"line 3", "formt"}},
		{"two sources wrong", "sources:\n  a: {kind: labels}\n  b: {format: csv, csv: {columns: [x, x]}}\n",
			[]string{`source "a": kind "labels"`, `source "b": csv: column "x" appears twice`}},
		{"group without from or fields", "sources:\n  a:\n    mapping:\n      segments: {type: string}\n", []string{`"segments": give from or fields`}},
		{"rename without from", "sources:\n  a:\n    mapping:\n      features: {fields: {a: a}, rename: {a: b}}\n", []string{"rename and exclude apply to from"}},
		{"empty path step", "sources:\n  a:\n    mapping:\n      request_id: a..b\n", []string{`field "request_id"`, "empty step"}},
		{"layout without type", "sources:\n  a:\n    mapping:\n      timestamp: {path: t, layout: x}\n", []string{"layout"}},
		{"label source with features", "sources:\n  a:\n    kind: label\n    mapping:\n      features: {from: f}\n", []string{`field "features": not part of a label`}},
		{"dedup entries without horizon", "sources:\n  a:\n    dedup: {max_entries: 5}\n", []string{"dedup.horizon"}},
		{"bad delimiter", "sources:\n  a:\n    csv: {columns: [a], delimiter: \"ab\"}\n", []string{"delimiter"}},
		{"no avro support", "sources:\n  a:\n    avro: {schemas: []}\n", []string{"no avro support"}},
		{"negative limit", "sources:\n  a: {max_documents: -1}\n", []string{"negative"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load([]byte(c.yaml), SourcesOptions{})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// No file at all: every source reads canonical JSON; label sources
	// by name.
	srcs, err := Load(nil, SourcesOptions{LabelSources: []string{"labels"}})
	if err != nil || srcs.Lookup("labels").Kind != KindLabel || srcs.Lookup("app").Kind != KindInference {
		t.Errorf("empty file: %v", err)
	}
}

func infEvent(id string) *schemas.InferenceEvent { return &schemas.InferenceEvent{EventID: id} }

// required: true on a numeric field rejects a document without it;
// unrequired, it is left out.
func TestRequiredNumber(t *testing.T) {
	srcs := mustLoad(t, `
sources:
  strict:
    mapping:
      latency_ms: {path: took, required: true}
  lax:
    mapping:
      latency_ms: {path: took}
`)
	with := `{"request_id":"r","model_id":"m","timestamp":1795428000,"features":{"a":1},"took":12.5}`
	without := `{"request_id":"r","model_id":"m","timestamp":1795428000,"features":{"a":1}}`
	if evs, err := srcs.Lookup("strict").Decode([]byte(with), ""); err != nil || len(evs) != 1 || evs[0].Inference.LatencyMS != 12.5 {
		t.Errorf("with the field: %v, %v", evs, err)
	}
	_, err := srcs.Lookup("strict").Decode([]byte(without), "")
	wantClass(t, err, ClassMissingField, `"latency_ms" is required`)
	if evs, err := srcs.Lookup("lax").Decode([]byte(without), ""); err != nil || len(evs) != 1 {
		t.Errorf("unrequired and absent: %v, %v", evs, err)
	}
}
