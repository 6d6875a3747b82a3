package drift

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/reference"
	"github.com/driftline/driftline/services/window"
	"github.com/twmb/franz-go/pkg/kgo"
)

// benchFeature is the value of feature j as tools/loadgen draws it: every
// fourth feature categorical, numbers with three decimals, 1 % missing.
func benchFeature(r *rand.Rand, j int) any {
	switch {
	case r.Float64() < 0.01:
		return nil
	case j%4 == 3:
		return "c" + strconv.Itoa(r.IntN(6))
	default:
		return math.Round((float64(j)+r.NormFloat64()*(1+float64(j)/10))*1000) / 1000
	}
}

func benchName(j int) string { return "f" + strconv.Itoa(1000 + j)[1:] }

// benchProfile is a 20-feature reference built from 5,000 rows.
func benchProfile(b testing.TB) *schemas.ReferenceProfile {
	b.Helper()
	r := rand.New(rand.NewPCG(3, 3))
	cols := make([]reference.Column, 20)
	for j := range cols {
		cols[j].Name = benchName(j)
		if j%4 == 3 {
			cols[j].Kind = schemas.KindCategorical
		} else {
			cols[j].Kind = schemas.KindNumeric
		}
		for range 5000 {
			v := benchFeature(r, j)
			for v == nil {
				v = benchFeature(r, j)
			}
			if s, ok := v.(string); ok {
				cols[j].Strings = append(cols[j].Strings, s)
			} else {
				cols[j].Numbers = append(cols[j].Numbers, v.(float64))
			}
		}
	}
	p, err := reference.FromColumns("model-000", "v1", cols)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchEvents(n int) []schemas.InferenceEvent {
	r := rand.New(rand.NewPCG(4, 4))
	t0 := time.UnixMilli(1795000000000).UTC()
	evs := make([]schemas.InferenceEvent, n)
	for i := range evs {
		id := "r00-" + strconv.Itoa(i)
		score := float64(r.IntN(1000)) / 1000
		class := "yes"
		e := schemas.InferenceEvent{EventID: id + "/production", RequestID: id, ModelID: "model-000", ModelVersion: "v1",
			Variant: schemas.VariantProduction, EventTime: t0.Add(time.Duration(i) * time.Millisecond),
			Features:   make(map[string]any, 20),
			Prediction: schemas.Prediction{Score: &score, Class: &class}, LatencyMS: 2 + float64(r.IntN(300))/10,
			Segments: map[string]string{"region": "seg-" + strconv.Itoa(r.IntN(3))}, Source: "load"}
		for j := range 20 {
			e.Features[benchName(j)] = benchFeature(r, j)
		}
		evs[i] = e
	}
	return evs
}

// BenchmarkRoute is drift level 1's cost per canonical inference with 20
// features: decode, find the window, sketch every feature.
func BenchmarkRoute(b *testing.B) {
	refs := NewReferences()
	refs.Put(benchProfile(b))
	eng := window.NewLevel1(window.Config{}, NewAcc(refs))
	var recs []*kgo.Record
	for i, e := range benchEvents(256) {
		v, err := schemas.Marshal(&e)
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Partition: 0, Offset: int64(i), Value: v})
	}
	var rt Router
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := rt.Route(recs[i%len(recs)], eng, now); err != nil {
			b.Fatal(err)
		}
	}
	if rt.Undecodable > 0 {
		b.Fatal("undecodable records")
	}
}

// BenchmarkAccAdd is the sketching share of BenchmarkRoute: one decoded
// event's 20 features into a window's sketches.
func BenchmarkAccAdd(b *testing.B) {
	refs := NewReferences()
	refs.Put(benchProfile(b))
	a := NewAcc(refs)(window.Key{ModelID: "model-000", ModelVersion: "v1"})
	evs := benchEvents(256)
	feats := make([][]schemas.Feature, len(evs))
	for i := range evs { // decoded, as Route has them
		v, err := schemas.Marshal(&evs[i])
		if err != nil {
			b.Fatal(err)
		}
		if feats[i], err = schemas.UnmarshalFeatures(v, &evs[i], nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.addFeatures(&evs[i%len(evs)], feats[i%len(evs)])
	}
}
