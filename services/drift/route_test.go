package drift

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Route sketches the decoded feature list with positions cached per
// window; it must fill the same partial as adding the decoded map, whatever
// the events' feature sets and however they change from event to event.
func TestRouteAgreesWithAdd(t *testing.T) {
	refs := NewReferences()
	refs.Put(benchProfile(t))
	newAcc := NewAcc(refs)
	var accs []*Acc
	eng := window.NewLevel1(window.Config{}, func(k window.Key) *Acc {
		a := newAcc(k)
		accs = append(accs, a)
		return a
	})
	want := newAcc(window.Key{ModelID: "model-000", ModelVersion: "v1"})

	r := rand.New(rand.NewPCG(5, 5))
	full := func() map[string]any {
		m := make(map[string]any, 20)
		for j := range 20 {
			m[benchName(j)] = benchFeature(r, j)
		}
		return m
	}
	shapes := []func() map[string]any{
		full,
		func() map[string]any { // some missing
			m := full()
			delete(m, benchName(r.IntN(20)))
			delete(m, benchName(r.IntN(20)))
			return m
		},
		func() map[string]any { // extra names around the reference's
			m := full()
			m["a-first"], m["zz-last"], m["f007x"] = 1.0, "x", true
			return m
		},
		func() map[string]any { // other types: long, bool, string in numeric, NaN
			m := full()
			m[benchName(0)] = int64(r.IntN(5))
			m[benchName(3)] = int64(2)
			m[benchName(7)] = r.IntN(2) == 0
			m[benchName(1)] = "text"
			m[benchName(2)] = math.NaN()
			return m
		},
		func() map[string]any { // few features: the linear search
			return map[string]any{benchName(3): "c1", benchName(4): 1.5, "other": nil}
		},
		func() map[string]any { return nil },
		func() map[string]any { // too many to remember
			m := full()
			for i := range maxCachedNames + 10 {
				m["x"+strconv.Itoa(i)] = nil
			}
			return m
		},
	}
	var rt Router
	t0 := time.UnixMilli(1795000000000).UTC()
	now := time.Now()
	for i := range 600 {
		// Runs of one shape, as a stream has them, then a change.
		shape := shapes[(i/7)%len(shapes)]
		if i%5 == 0 {
			shape = shapes[r.IntN(len(shapes))]
		}
		e := schemas.InferenceEvent{EventID: strconv.Itoa(i), RequestID: strconv.Itoa(i), ModelID: "model-000", ModelVersion: "v1",
			Variant: schemas.VariantProduction, EventTime: t0.Add(time.Duration(i) * time.Millisecond), Features: shape(),
			LatencyMS: float64(i % 13)}
		b, err := schemas.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Route(&kgo.Record{Offset: int64(i), Value: b}, eng, now); err != nil {
			t.Fatal(err)
		}
		var dec schemas.InferenceEvent
		if err := schemas.Unmarshal(b, &dec); err != nil {
			t.Fatal(err)
		}
		want.add(&dec)
	}
	if rt.Undecodable != 0 || len(accs) != 1 {
		t.Fatalf("%d undecodable, %d windows", rt.Undecodable, len(accs))
	}
	var got, exp schemas.WindowPartial
	accs[0].Fill(&got)
	want.Fill(&exp)
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("Route's partial differs from adding the maps\n got  %+v\n want %+v", got, exp)
	}
	if exp.Count != 600 || exp.Features[1].Missing == 0 || exp.Features[1].TypeMismatches == 0 {
		t.Fatalf("the events did not exercise missing values and mismatches: %+v", exp.Features[:2])
	}

	// An undecodable record is counted, not routed.
	if err := rt.Route(&kgo.Record{Offset: 600, Value: []byte{0xC3}}, eng, now); err != nil || rt.Undecodable != 1 {
		t.Fatalf("undecodable record: %v, count %d", err, rt.Undecodable)
	}
}
