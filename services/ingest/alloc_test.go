package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/stream"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The records from the blocks are stream.Record's, byte for byte, and stay
// so while later records fill the blocks: small and large values, empty
// keys, labels, and encoding errors with stream.Record's message.
func TestRecordAllocMatchesRecord(t *testing.T) {
	var a recordAlloc
	type made struct {
		got, want *kgo.Record
	}
	var all []made
	for i := range 3000 {
		ev := &schemas.InferenceEvent{EventID: fmt.Sprint(i), RequestID: fmt.Sprintf("req-%d", i), ModelID: "m",
			EventTime: time.UnixMilli(int64(i)).UTC(), Features: map[string]any{"x": float64(i), "s": strings.Repeat("v", i%7)}}
		var v any = ev
		key := ev.RequestID
		switch {
		case i%97 == 0: // larger than a block's room
			ev.Features["big"] = strings.Repeat("x", bytesBlock+i)
		case i%13 == 0:
			key = ""
		case i%5 == 0:
			v = &schemas.LabelEvent{RequestID: key, Class: &key, LabelTime: ev.EventTime}
		}
		got, gerr := a.record("topic", key, v)
		want, werr := stream.Record("topic", key, v)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || gerr != nil {
			t.Fatalf("record %d: error %v, stream.Record's %v", i, gerr, werr)
		}
		all = append(all, made{got, want})
	}
	for i, m := range all {
		if m.got.Topic != m.want.Topic || !bytes.Equal(m.got.Key, m.want.Key) || (m.got.Key == nil) != (m.want.Key == nil) ||
			!bytes.Equal(m.got.Value, m.want.Value) || cap(m.got.Key) != len(m.got.Key) || cap(m.got.Value) != len(m.got.Value) {
			t.Fatalf("record %d differs from stream.Record's:\n got  %q %x\n want %q %x", i, m.got.Key, m.got.Value, m.want.Key, m.want.Value)
		}
	}
	bad := &schemas.InferenceEvent{Features: map[string]any{"x": []int{1}}}
	_, gerr := a.record("topic", "k", bad)
	_, werr := stream.Record("topic", "k", bad)
	if gerr == nil || gerr.Error() != werr.Error() {
		t.Fatalf("error %v, stream.Record's %v", gerr, werr)
	}
}
