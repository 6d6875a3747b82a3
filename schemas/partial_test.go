package schemas

import (
	"bytes"
	"testing"
)

// A WindowPartial written before FeatureSketch.quantile_sketch existed (the
// historic schema avro/history/window_partial.v1.avsc, embedded, so no
// registration is needed) decodes with the field's default, null; one
// written now carries the sketch's bytes through both framings.
func TestWindowPartialQuantileSketch(t *testing.T) {
	v1 := readSchema(t, "avro/history/window_partial.v1.avsc")
	native := map[string]any{
		"model_id": "m", "model_version": "1", "variant": "production", "segment": "",
		"window_start": t0, "window_end": t1, "source_topic": "driftline.inferences",
		"source_partition": int32(2), "partition_count": int32(4), "watermark": t1,
		"revision": int32(0), "late_events": int64(0), "count": int64(3), "reference_id": "r",
		"features": []any{map[string]any{
			"name": "x", "kind": KindNumeric, "count": int64(3), "missing": int64(1), "type_mismatches": int64(0),
			"sum": 6.0, "sum_squares": 14.0, "min": 1.0, "max": 3.0,
			"bin_counts": []any{int64(1), int64(2)}, "quantile_counts": []any{int64(0), int64(3)},
			"categories": map[string]any{}, "other": int64(0),
		}},
		"family": "drift", "counters": map[string]any{}, "idle": false,
	}
	var old WindowPartial
	if err := Unmarshal(singleObject(t, v1, writeAs(t, v1, native)), &old); err != nil {
		t.Fatal(err)
	}
	if len(old.Features) != 1 || old.Features[0].QuantileSketch != nil || old.Features[0].Count != 3 || old.Features[0].Max != 3 {
		t.Fatalf("old partial decoded as %+v", old.Features)
	}

	cur := old
	cur.Features = []FeatureSketch{old.Features[0]}
	cur.Features[0].QuantileSketch = []byte{0x02, 0x00, 0x10, 0xfe}
	for _, marshal := range []func(any) ([]byte, error){Marshal, func(v any) ([]byte, error) { return MarshalConfluent(v, fuzzIDs["WindowPartial"]) }} {
		b, err := marshal(&cur)
		if err != nil {
			t.Fatal(err)
		}
		var got WindowPartial
		if err := fuzzDecoder(t).Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Features[0].QuantileSketch, cur.Features[0].QuantileSketch) {
			t.Errorf("quantile_sketch %x, want %x", got.Features[0].QuantileSketch, cur.Features[0].QuantileSketch)
		}
		// The decoded bytes must not alias the input (a Kafka fetch buffer).
		b[len(b)-10] ^= 0xff
		if !bytes.Equal(got.Features[0].QuantileSketch, cur.Features[0].QuantileSketch) {
			t.Error("quantile_sketch aliases the input")
		}
	}
}

// A WindowPartial written before first_offset and last_offset existed (the
// historic schema avro/history/window_partial.v2.avsc) decodes with both
// at -1, unknown, which level 2 treats as it did before the fields; one
// written now carries the range through both framings.
func TestWindowPartialOffsets(t *testing.T) {
	v2 := readSchema(t, "avro/history/window_partial.v2.avsc")
	native := map[string]any{
		"model_id": "m", "model_version": "1", "variant": "production", "segment": "",
		"window_start": t0, "window_end": t1, "source_topic": "driftline.inferences",
		"source_partition": int32(2), "partition_count": int32(4), "watermark": t1,
		"revision": int32(1), "late_events": int64(1), "count": int64(3), "reference_id": "r",
		"features": []any{}, "family": "drift", "counters": map[string]any{"events": 3.0}, "idle": false,
	}
	var old WindowPartial
	if err := Unmarshal(singleObject(t, v2, writeAs(t, v2, native)), &old); err != nil {
		t.Fatal(err)
	}
	if old.FirstOffset != -1 || old.LastOffset != -1 || old.Count != 3 || old.Revision != 1 {
		t.Fatalf("old partial decoded with offsets [%d, %d], count %d, revision %d; want [-1, -1], 3, 1",
			old.FirstOffset, old.LastOffset, old.Count, old.Revision)
	}

	cur := old
	cur.FirstOffset, cur.LastOffset = 0, 1<<40
	for _, marshal := range []func(any) ([]byte, error){Marshal, func(v any) ([]byte, error) { return MarshalConfluent(v, fuzzIDs["WindowPartial"]) }} {
		b, err := marshal(&cur)
		if err != nil {
			t.Fatal(err)
		}
		var got WindowPartial
		if err := fuzzDecoder(t).Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.FirstOffset != cur.FirstOffset || got.LastOffset != cur.LastOffset {
			t.Errorf("offsets [%d, %d], want [%d, %d]", got.FirstOffset, got.LastOffset, cur.FirstOffset, cur.LastOffset)
		}
	}
}
