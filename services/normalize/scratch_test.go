package normalize

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// DecodeInto gives, record after record, what Decode gives, whatever the
// Scratch held before: events with and without segments (a nil map stays
// nil), batches, label records, failures in between, and records beyond
// what a Scratch keeps.
func TestDecodeIntoAgrees(t *testing.T) {
	app := decoder{Source: "app"}.src()
	labels := decoder{Source: "labels", Kind: KindLabel}.src()
	bigFeatures := func() string {
		var b strings.Builder
		b.WriteString(`{"request_id":"big","model_id":"m","timestamp":1700000000000,"features":{`)
		for i := range maxScratchEntries + 5 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"f%d":%d`, i, i)
		}
		b.WriteString(`}}`)
		return b.String()
	}
	batch := func(n int) string {
		docs := make([]string, n)
		for i := range docs {
			docs[i] = fmt.Sprintf(`{"request_id":"b%d","model_id":"m","timestamp":"2026-11-23T10:00:00Z","features":{"x":%d},"segments":{"s":"%d"}}`, i, i, i%2)
		}
		return "[" + strings.Join(docs, ",") + "]"
	}
	records := []struct {
		src         *Source
		value, ct   string
		wantFailure bool
	}{
		{app, `{"request_id":"r1","model_id":"m","timestamp":1700000000000,"features":{"a":1.5,"b":"x","c":null},"segments":{"region":"eu"},"prediction":{"class":"yes","score":0.5},"latency_ms":3}`, "", false},
		{app, `{"request_id":"r2","model_id":"m","timestamp":1700000000001,"features":{"a":2.5}}`, "", false}, // no segments: nil
		{app, `{"request_id":"r3","model_id":"m","timestamp":1700000000002,"features":{"b":true},"segments":{"tier":"gold","region":"us"},"cost":{"input_tokens":3}}`, "", false},
		{app, `{"request_id":"r4","model_id":"m","timestamp":"not a time","features":{}}`, "", true},
		{app, batch(3), "", false},
		{app, `{"request_id":"r5","model_id":"m","timestamp":1700000000003,"features":{"a":1}}` + "\n" + `{"request_id":"r6","model_id":"m","timestamp":1700000000004,"features":{"a":2},"segments":{"x":"y"}}`, "application/x-ndjson", false},
		{app, bigFeatures(), "", false},
		{app, batch(maxScratchEvents + 3), "", false},
		{app, `{"request_id":"r7","model_id":"m","timestamp":1700000000005,"features":{"a":7}}`, "", false},
		{labels, `{"request_id":"r1","label":"yes","timestamp":1700000000006}`, "", false},
		{app, "request_id,model_id\nr8,m\n", "text/csv", true}, // no csv section
		{app, `<event><request_id>r9</request_id><model_id>m</model_id><timestamp>1700000000007</timestamp><features><a>1</a></features></event>`, "application/xml", false},
		{app, `{"request_id":"r10","model_id":"m","timestamp":1700000000008,"features":{"a":1},"segments":{"region":"eu"}}`, "", false},
	}
	var sc Scratch
	for round := range 2 {
		for i, r := range records {
			t.Run(fmt.Sprintf("%d/%d", round, i), func(t *testing.T) {
				want, werr := r.src.Decode([]byte(r.value), r.ct)
				got, gerr := r.src.DecodeInto([]byte(r.value), r.ct, &sc)
				if fmt.Sprint(gerr) != fmt.Sprint(werr) {
					t.Fatalf("error %v, want %v", gerr, werr)
				}
				if (werr != nil) != r.wantFailure {
					t.Fatalf("failure %v, want one: %v", werr, r.wantFailure)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("DecodeInto: %s\nDecode:     %s", show(got), show(want))
				}
			})
		}
	}
	if len(sc.slots) > maxScratchEvents || cap(sc.events) > maxScratchEvents {
		t.Fatalf("the scratch kept %d events and a list of %d", len(sc.slots), cap(sc.events))
	}
	for _, s := range sc.slots {
		if len(s.features) > maxScratchEntries {
			t.Fatalf("the scratch kept a map of %d entries", len(s.features))
		}
	}
}
