package schemas

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Shared fixtures for the round-trip, goavro, golden, fuzz and benchmark
// tests.

var (
	t0 = time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	t1 = t0.Add(5 * time.Minute)
)

func ptr[T any](v T) *T { return &v }

// goldenInference is the fixed event of the golden files: every field set,
// every feature value type, maps of several entries (whose order the encoder
// fixes).
func goldenInference() *InferenceEvent {
	return &InferenceEvent{
		EventID:      "0195a3c2-7f4e-7b1a-9c3d-2e8f6a1b4c5d",
		RequestID:    "req-000042",
		ModelID:      "fraud-scorer",
		ModelVersion: "2025.03.1",
		Variant:      VariantProduction,
		EventTime:    t0,
		Features: map[string]any{
			"amount":        129.95,
			"n_items":       int64(3),
			"country":       "DE",
			"is_returning":  true,
			"coupon_code":   nil,
			"account_age_d": int64(-1),
			"ratio":         math.Inf(1),
		},
		Prediction: Prediction{
			Score:         ptr(0.87),
			Class:         ptr("fraud"),
			Probabilities: map[string]float64{"fraud": 0.87, "legit": 0.13},
		},
		LatencyMS:     12.5,
		Cost:          &Cost{InputTokens: 512, OutputTokens: 64, CostUSD: 0.00123},
		Segments:      map[string]string{"region": "eu-west", "tier": "gold"},
		Attributions:  map[string]float64{"amount": 0.41, "country": -0.07},
		Source:        "checkout-api",
		SchemaVersion: 3,
	}
}

// benchInference has 20 features of mixed types, like a typical tabular
// model's input.
func benchInference() *InferenceEvent {
	ev := goldenInference()
	ev.Features = make(map[string]any, 20)
	for i := range 20 {
		k := fmt.Sprintf("feature_%02d", i)
		switch i % 5 {
		case 0, 1:
			ev.Features[k] = float64(i) * 1.25
		case 2:
			ev.Features[k] = int64(i * 1000)
		case 3:
			ev.Features[k] = fmt.Sprintf("category-%d", i)
		case 4:
			ev.Features[k] = i%2 == 0
		}
	}
	return ev
}

func metricWindow(metric string, detected bool) MetricWindow {
	return MetricWindow{
		ModelID: "fraud-scorer", ModelVersion: "2025.03.1", Variant: VariantShadow,
		Segment: "region=eu-west", WindowStart: t0, WindowEnd: t1,
		Family: FamilyDrift, Feature: "amount", Metric: metric, Value: 0.31,
		Threshold: ptr(0.2), PValue: ptr(1e-9), Detected: detected,
		SampleCount: 10_000, ReferenceCount: 250_000, ReferenceID: "ref-1",
		ComputedAt: t1.Add(31 * time.Second), Revision: 2,
	}
}

type rtCase struct {
	name string
	in   any // a pointer to an event
	want any // what decoding yields, if not in
}

// roundTripCases covers every event with nil and non-nil optionals, empty and
// nil maps, every feature value type and awkward values.
func roundTripCases() []rtCase {
	full := goldenInference()

	nilOpts := goldenInference()
	nilOpts.Prediction = Prediction{}
	nilOpts.Cost = nil
	nilOpts.Attributions = nil

	emptyMaps := goldenInference()
	emptyMaps.Features = map[string]any{}
	emptyMaps.Prediction.Probabilities = map[string]float64{} // empty, not null
	emptyMaps.Segments = map[string]string{}
	emptyMaps.Attributions = map[string]float64{}

	goInts := goldenInference()
	goInts.Features = map[string]any{"i": 7, "i8": int8(-8), "i16": int16(16), "i32": int32(-32), "u8": uint8(8), "u16": uint16(16), "u32": uint32(32), "u64": uint64(64), "u": uint(1), "f32": float32(0.5)}
	goIntsWant := goldenInference()
	goIntsWant.Features = map[string]any{"i": int64(7), "i8": int64(-8), "i16": int64(16), "i32": int64(-32), "u8": int64(8), "u16": int64(16), "u32": int64(32), "u64": int64(64), "u": int64(1), "f32": float64(0.5)}

	extremes := goldenInference()
	extremes.EventID = strings.Repeat("é€😀", 20_000)
	extremes.Features = map[string]any{"max": int64(math.MaxInt64), "min": int64(math.MinInt64), "neg_inf": math.Inf(-1), "tiny": math.SmallestNonzeroFloat64, "": "empty key", "nul\x00key": "\x00"}
	extremes.LatencyMS = math.MaxFloat64
	extremes.SchemaVersion = math.MinInt32
	extremes.EventTime = time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC) // negative millis

	// Sub-millisecond precision and zones are not on the wire.
	local := goldenInference()
	local.EventTime = time.Date(2025, 3, 14, 16, 9, 26, 535_999_999, time.FixedZone("CET", 3600))
	localWant := goldenInference()

	profile := &ReferenceProfile{
		ReferenceID: "ref-1", ModelID: "fraud-scorer", ModelVersion: "2025.03.1",
		Features: []FeatureProfile{
			{Name: "amount", Kind: KindNumeric, BinEdges: []float64{10, 50, 100}, BinCounts: []int64{5, 10, 20, 3},
				QuantileEdges: []float64{1, 2, 3, 4}, QuantileCounts: []int64{1, 1, 1, 1, 1}, Categories: map[string]int64{},
				Count: 38, Missing: 2, Min: 0.5, Max: 999, Mean: 61.2, Std: 40.1, UniqueCount: 37},
			{Name: "country", Kind: KindCategorical, Categories: map[string]int64{"DE": 20, "FR": 15, "other": 3},
				Count: 38, UniqueCount: 12},
		},
		RowCount: 40, CreatedAt: t0,
	}

	partial := &WindowPartial{
		ModelID: "fraud-scorer", ModelVersion: "2025.03.1", Variant: VariantProduction, Segment: "region=eu-west",
		WindowStart: t0, WindowEnd: t1, SourceTopic: "driftline.inferences", SourcePartition: 7, PartitionCount: 12,
		Watermark: t1.Add(-time.Second), Revision: 1, LateEvents: 4, Count: 1234, ReferenceID: "ref-1",
		Features: []FeatureSketch{
			{Name: "amount", Kind: KindNumeric, Count: 1200, Missing: 34, TypeMismatches: 1, Sum: 73_000.5, SumSquares: 9.1e6,
				Min: 0.01, Max: 5000, BinCounts: []int64{100, 500, 500, 100}, QuantileCounts: []int64{0, 0, 1}, Categories: map[string]int64{},
				QuantileSketch: []byte{0x03, 0x02, 0x01, 0x00, 0xff}},
			{Name: "country", Kind: KindCategorical, Count: 1234, Min: math.Inf(1), Max: math.Inf(-1),
				Categories: map[string]int64{"DE": 600, "FR": 500}, Other: 134},
		},
		Family: FamilyDrift, Counters: map[string]float64{"events": 1234, "latency_ms_sum": 15_000.25},
		FirstOffset: 1 << 33, LastOffset: 1<<33 + 5000,
	}
	heartbeat := &WindowPartial{SourceTopic: "driftline.inferences", SourcePartition: 3, PartitionCount: 12, Watermark: t1, Idle: true}
	// Non-nullable maps decode non-nil, so a nil Counters comes back empty.
	heartbeatWant := &WindowPartial{SourceTopic: "driftline.inferences", SourcePartition: 3, PartitionCount: 12, Watermark: t1, Features: nil, Idle: true,
		Counters: map[string]float64{}}

	mw := metricWindow("psi", true)
	mwNil := metricWindow("late_events", false)
	mwNil.Threshold, mwNil.PValue, mwNil.Feature = nil, nil, ""

	trigger := &Trigger{
		TriggerID: "trg-9", ModelID: "fraud-scorer", ModelVersion: "2025.03.1", Policy: "psi-3-of-5",
		Action: ActionRetrain, Severity: "high", Evidence: []MetricWindow{mw, mwNil},
		CreatedAt: t1, CooldownUntil: t1.Add(6 * time.Hour),
	}

	dead := &DeadLetter{
		Original:    []byte{0x00, 0xC3, 0x01, 0xff, '{', '"', 'x'},
		SourceTopic: "driftline.raw.checkout", SourcePartition: 2, SourceOffset: 1 << 40,
		Headers: map[string]string{"content-type": "application/json", "traceparent": "00-abc-def-01"},
		Stage:   "adapter", ErrorClass: "parse", ErrorMessage: "unexpected end of JSON input", ReceivedAt: t0,
	}

	return []rtCase{
		{"InferenceEvent/full", full, nil},
		{"InferenceEvent/zero", &InferenceEvent{}, &InferenceEvent{Features: map[string]any{}, Segments: map[string]string{}}},
		{"InferenceEvent/nil-optionals", nilOpts, nil},
		{"InferenceEvent/empty-maps", emptyMaps, nil},
		{"InferenceEvent/go-number-types", goInts, goIntsWant},
		{"InferenceEvent/extremes", extremes, nil},
		{"InferenceEvent/zone-and-submillis", local, localWant},
		{"LabelEvent/class", &LabelEvent{RequestID: "req-1", Class: ptr("fraud"), LabelTime: t1, Source: "chargebacks"}, nil},
		{"LabelEvent/value", &LabelEvent{RequestID: "req-2", Value: ptr(-3.25), LabelTime: t1}, nil},
		{"LabelEvent/none", &LabelEvent{RequestID: "req-3"}, nil},
		{"ReferenceProfile/full", profile, nil},
		{"ReferenceProfile/empty", &ReferenceProfile{ReferenceID: "r", Features: []FeatureProfile{}}, &ReferenceProfile{ReferenceID: "r"}},
		{"WindowPartial/full", partial, nil},
		{"WindowPartial/heartbeat", heartbeat, heartbeatWant},
		{"MetricWindow/set", &mw, nil},
		{"MetricWindow/nil-optionals", &mwNil, nil},
		{"Trigger/evidence", trigger, nil},
		{"Trigger/no-evidence", &Trigger{TriggerID: "t", Action: ActionNotify}, nil},
		{"DeadLetter/full", dead, nil},
		{"DeadLetter/empty", &DeadLetter{Original: []byte{}}, &DeadLetter{Headers: map[string]string{}}},
	}
}

func (c rtCase) wanted() any {
	if c.want != nil {
		return c.want
	}
	return c.in
}

// newOf returns a new zero value of the type v points to.
func newOf(v any) any { return reflect.New(reflect.TypeOf(v).Elem()).Interface() }

func assertEqual(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded value differs\n got: %+v\nwant: %+v", deref(got), deref(want))
	}
}

func deref(v any) any { return reflect.Indirect(reflect.ValueOf(v)).Interface() }
