// Package synth generates a known world for the demo and the end-to-end
// test: one model with a production and a shadow variant, labels arriving
// minutes after their predictions, a drift injected on one named numeric
// feature at a known time, and a few malformed records. It keeps the truth
// (correct predictions and agreements per window) so that what Driftline
// measured can be checked exactly.
package synth

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/driftline/driftline/schemas"
)

// Options shape the generated world.
type Options struct {
	Seed         uint64
	ModelID      string
	ModelVersion string
	Start        time.Time     // first event; aligned to Window
	Duration     time.Duration // of event time reported on
	// Tail is traffic after Duration, so that the watermarks pass the last
	// reported window: in a replay nothing else moves event time, and the
	// tail's own windows stay open.
	Tail         time.Duration
	Window       time.Duration
	PerWindow    int // requests per window
	DriftFeature string
	DriftAt      time.Time // aligned to Window
	// DriftShift moves the drifted feature's mean by this many standard
	// deviations.
	DriftShift  float64
	LabelDelay  [2]time.Duration // uniform range
	Malformed   int              // bad raw records mixed into the stream
	ReferenceN  int              // rows of the training dataset
	ProdCorrect float64          // probability production predicts the label
	ShadowAgree float64          // probability shadow repeats production
}

// Defaults returns the demo's world: two hours of five-minute windows ending
// at end (and a five-minute tail after it), drift on "income" 70 minutes in. A window holds 2,000 requests:
// with fewer, the normed Wasserstein distance of an undrifted feature
// crosses Evidently's 0.1 threshold by chance (its 95th percentile is 0.12
// at 400 rows), and the demo would report drift that is only noise.
func Defaults(end time.Time) Options {
	end = end.UTC().Truncate(5 * time.Minute)
	start := end.Add(-2 * time.Hour)
	// Reported windows end at end; the tail runs five minutes past it.
	return Options{
		Seed: 42, ModelID: "churn-model", ModelVersion: "v1",
		Start: start, Duration: 2 * time.Hour, Tail: 5 * time.Minute, Window: 5 * time.Minute, PerWindow: 2000,
		DriftFeature: "income", DriftAt: start.Add(70 * time.Minute), DriftShift: 1.5,
		LabelDelay: [2]time.Duration{5 * time.Minute, 15 * time.Minute},
		Malformed:  3, ReferenceN: 5000, ProdCorrect: 0.9, ShadowAgree: 0.85,
	}
}

// Record is one raw record to produce, in event-time order.
type Record struct {
	Source string // raw source: "app" (inferences) or "labels"
	Key    string
	Value  []byte
	Time   time.Time
}

// Truth is what the generated stream contains, per window start.
type Truth struct {
	Requests   map[time.Time]int
	Correct    map[time.Time]map[string]int // variant → correct predictions
	Agree      map[time.Time]int            // shadow agrees with production
	Malformed  int
	Inferences int
	Labels     int
}

// numeric features: mean and standard deviation.
var numeric = []struct {
	name      string
	mean, std float64
}{
	{"age", 41, 11}, {"income", 52000, 14000}, {"tenure_months", 30, 12}, {"sessions_per_week", 6, 2.5},
}

var plans = []struct {
	name string
	p    float64
}{{"basic", 0.5}, {"pro", 0.35}, {"enterprise", 0.15}}

func (o Options) row(r *rand.Rand, drifted bool) map[string]any {
	f := map[string]any{}
	for _, n := range numeric {
		v := n.mean + n.std*r.NormFloat64()
		if drifted && n.name == o.DriftFeature {
			v += o.DriftShift * n.std
		}
		f[n.name] = math.Round(v*100) / 100
	}
	if r.Float64() < 0.02 {
		f["income"] = nil
	}
	u, acc := r.Float64(), 0.0
	for _, p := range plans {
		acc += p.p
		if u < acc || p.name == plans[len(plans)-1].name {
			f["plan"] = p.name
			break
		}
	}
	return f
}

// Reference returns the training dataset as columns: the features before
// any drift.
func (o Options) Reference() (names []string, rows []map[string]any) {
	r := rand.New(rand.NewPCG(o.Seed, 7))
	for _, n := range numeric {
		names = append(names, n.name)
	}
	names = append(names, "plan")
	for i := 0; i < o.ReferenceN; i++ {
		rows = append(rows, o.row(r, false))
	}
	return names, rows
}

// Generate returns the raw records in event-time order and the truth.
func (o Options) Generate() ([]Record, Truth) {
	r := rand.New(rand.NewPCG(o.Seed, 1))
	tr := Truth{Requests: map[time.Time]int{}, Correct: map[time.Time]map[string]int{}, Agree: map[time.Time]int{}}
	var out []Record
	windows := int((o.Duration + o.Tail) / o.Window)
	n := 0
	for w := 0; w < windows; w++ {
		ws := o.Start.Add(time.Duration(w) * o.Window)
		tr.Correct[ws] = map[string]int{}
		for i := 0; i < o.PerWindow; i++ {
			t := ws.Add(time.Duration(float64(o.Window) * (float64(i) + r.Float64()) / float64(o.PerWindow)))
			n++
			req := fmt.Sprintf("req-%d-%06d", o.Seed, n)
			label := "churn"
			if r.Float64() < 0.7 {
				label = "stay"
			}
			prod := label
			if r.Float64() >= o.ProdCorrect {
				prod = other(label)
			}
			sh := prod
			if r.Float64() >= o.ShadowAgree {
				sh = other(prod)
			}
			features := o.row(r, !t.Before(o.DriftAt))
			tr.Requests[ws]++
			if prod == label {
				tr.Correct[ws]["production"]++
			}
			if sh == label {
				tr.Correct[ws]["shadow"]++
			}
			if sh == prod {
				tr.Agree[ws]++
			}
			for _, v := range []struct{ variant, class string }{{"production", prod}, {"shadow", sh}} {
				score := 0.2 + 0.6*r.Float64()
				if v.class == "churn" {
					score = 0.5 + 0.5*score
				} else {
					score = 0.5 * score
				}
				b, _ := json.Marshal(map[string]any{
					"event_id": req + "/" + v.variant, "request_id": req, "model_id": o.ModelID,
					"model_version": o.ModelVersion, "variant": v.variant, "timestamp": t.Format(time.RFC3339Nano),
					"features": features, "prediction": map[string]any{"class": v.class, "score": math.Round(score*1000) / 1000},
					"latency_ms": math.Round((8+12*r.Float64())*10) / 10, "segments": map[string]string{"region": []string{"eu", "us", "apac"}[n%3]},
				})
				out = append(out, Record{Source: "app", Key: req, Value: b, Time: t})
				tr.Inferences++
			}
			delay := o.LabelDelay[0] + time.Duration(r.Float64()*float64(o.LabelDelay[1]-o.LabelDelay[0]))
			b, _ := json.Marshal(map[string]any{"request_id": req, "label": label, "timestamp": t.Add(delay).UnixMilli()})
			out = append(out, Record{Source: "labels", Key: req, Value: b, Time: t.Add(delay)})
			tr.Labels++
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	// Malformed records spread through the stream: broken JSON, a missing
	// required field, a wrong type.
	bad := [][]byte{[]byte(`{"request_id": "broken", "model_id": `), []byte(`{"request_id":"x","timestamp":1,"features":{}}`), []byte(`{"request_id":"y","model_id":"churn-model","timestamp":"yesterday","features":{"age":1}}`)}
	for i := 0; i < o.Malformed && len(out) > 0; i++ {
		at := (i + 1) * len(out) / (o.Malformed + 1)
		rec := Record{Source: "app", Key: fmt.Sprintf("bad-%d", i), Value: bad[i%len(bad)], Time: out[at].Time}
		out = append(out[:at], append([]Record{rec}, out[at:]...)...)
		tr.Malformed++
	}
	return out, tr
}

func other(c string) string {
	if c == "churn" {
		return "stay"
	}
	return "churn"
}

// ReferenceColumns returns the reference dataset in the shape a profile
// builder takes: numeric columns as float64 with NaN for missing, strings
// for categorical.
func (o Options) ReferenceColumns() (num map[string][]float64, cat map[string][]string) {
	names, rows := o.Reference()
	num, cat = map[string][]float64{}, map[string][]string{}
	for _, name := range names {
		for _, row := range rows {
			switch v := row[name].(type) {
			case float64:
				num[name] = append(num[name], v)
			case nil:
				num[name] = append(num[name], math.NaN())
			case string:
				cat[name] = append(cat[name], v)
			}
		}
	}
	return num, cat
}

// Kinds are the feature kinds of the generated model.
func Kinds() map[string]string {
	k := map[string]string{"plan": schemas.KindCategorical}
	for _, n := range numeric {
		k[n.name] = schemas.KindNumeric
	}
	return k
}
