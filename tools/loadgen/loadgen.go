// Package loadgen generates raw inference and label records at a chosen
// rate and mix (models, features, segments, shadow share, label delay, a
// drift schedule) for load tests, together with the reference profiles
// their undrifted features were drawn from. The records are the canonical
// JSON the adapter reads from driftline.raw.<source>, built from
// pre-formatted values into large shared buffers, so that the generator
// costs far less per record than the pipeline it loads.
//
// Event time runs on the record count, not the wall clock: record i of the
// inference stream happens at Start + i·Window/EventsPerWindow. A producer at
// R records/s therefore passes one window every EventsPerWindow/R seconds,
// and many windows close in a short run.
package loadgen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/reference"
)

// Options shape the generated stream.
type Options struct {
	Seed         uint64
	Models       int     // model-000 … ; each has ModelVersion "v1"
	Features     int     // per event: f000 …
	Categorical  float64 // share of the features that are categorical
	Segments     int     // distinct values of the "region" segment
	ShadowShare  float64 // share of requests with a shadow prediction too
	LabelShare   float64 // share of requests that get a label
	LabelDelay   time.Duration
	MissingShare float64 // share of null feature values
	Drift        []Drift
	Start        time.Time // event time of the first record
	Window       time.Duration
	// EventsPerWindow is how many inference records one window of event
	// time holds.
	EventsPerWindow int
}

// Drift shifts one feature of every model from an event-time offset on:
// numeric features move their mean by Shift standard deviations,
// categorical ones put Shift (capped at 1) of their mass on the rarest
// category.
type Drift struct {
	Feature string
	At      time.Duration
	Shift   float64
}

// Defaults returns a stream of one model with 20 features (a quarter of them
// categorical), three segments, a tenth of requests shadowed, no labels,
// one-minute windows of 20,000 events, starting at the current minute.
func Defaults() Options {
	return Options{
		Seed: 1, Models: 1, Features: 20, Categorical: 0.25, Segments: 3, ShadowShare: 0.1,
		LabelDelay: 10 * time.Minute, MissingShare: 0.01,
		Start: time.Now().UTC().Truncate(time.Minute), Window: time.Minute, EventsPerWindow: 20000,
	}
}

// ParseDrift reads a schedule "feature@offset[:shift],…", e.g.
// "f003@10m:1.5"; the shift defaults to 1.5.
func ParseDrift(s string) ([]Drift, error) {
	var out []Drift
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		name, rest, ok := strings.Cut(item, "@")
		if !ok || name == "" {
			return nil, fmt.Errorf("drift %q: want feature@offset[:shift]", item)
		}
		at, shift, hasShift := strings.Cut(rest, ":")
		d := Drift{Feature: name, Shift: 1.5}
		var err error
		if d.At, err = time.ParseDuration(at); err != nil || d.At < 0 {
			return nil, fmt.Errorf("drift %q: offset %q is not a non-negative duration", item, at)
		}
		if hasShift {
			if d.Shift, err = strconv.ParseFloat(shift, 64); err != nil || math.IsNaN(d.Shift) || math.IsInf(d.Shift, 0) {
				return nil, fmt.Errorf("drift %q: shift %q is not a number", item, shift)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// Size limits keep a mistyped flag from allocating the machine away.
const (
	maxModels   = 10000
	maxFeatures = 1000
	maxSegments = 10000
	// tableSize pre-formatted values per feature; a power of two.
	tableSize = 4096
)

func (o Options) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.Models >= 1 && o.Models <= maxModels, "models %d: want 1 to %d", o.Models, maxModels)
	check(o.Features >= 1 && o.Features <= maxFeatures, "features %d: want 1 to %d", o.Features, maxFeatures)
	check(o.Segments >= 1 && o.Segments <= maxSegments, "segments %d: want 1 to %d", o.Segments, maxSegments)
	for _, s := range []struct {
		name string
		v    float64
	}{{"categorical", o.Categorical}, {"shadow share", o.ShadowShare}, {"label share", o.LabelShare}, {"missing share", o.MissingShare}} {
		check(s.v >= 0 && s.v <= 1, "%s %v: want 0 to 1", s.name, s.v)
	}
	check(o.LabelDelay >= 0, "label delay %s is negative", o.LabelDelay)
	check(o.Window > 0, "window %s: want > 0", o.Window)
	check(o.EventsPerWindow >= 1, "events per window %d: want ≥ 1", o.EventsPerWindow)
	for _, d := range o.Drift {
		check(featureIndex(d.Feature, o.Features) >= 0, "drift: no feature %q (features are f000 to %s)", d.Feature, featureName(o.Features-1))
	}
	return errors.Join(errs...)
}

func featureName(i int) string { return fmt.Sprintf("f%03d", i) }

func featureIndex(name string, n int) int {
	for i := range n {
		if featureName(i) == name {
			return i
		}
	}
	return -1
}

// feature is one feature's distribution, the same for every model.
type feature struct {
	name        string
	categorical bool
	mean, std   float64   // numeric
	categories  []string  // categorical
	weights     []float64 // cumulative, categorical
}

func newFeatures(o Options) []feature {
	nCat := int(math.Round(o.Categorical * float64(o.Features)))
	fs := make([]feature, o.Features)
	for i := range fs {
		f := feature{name: featureName(i)}
		// Spread categorical features evenly among the numeric ones.
		if nCat > 0 && i*nCat/o.Features != (i+1)*nCat/o.Features {
			f.categorical = true
			k := 3 + i%6
			acc := 0.0
			for c := range k {
				f.categories = append(f.categories, fmt.Sprintf("c%d", c))
				acc += 1 / float64(c+1) // Zipf-like
				f.weights = append(f.weights, acc)
			}
			for c := range f.weights {
				f.weights[c] /= acc
			}
		} else {
			f.mean, f.std = float64(10*(i+1)), float64(1+i%7)
		}
		fs[i] = f
	}
	return fs
}

// sample draws one value: a float64 or a category.
func (f *feature) sample(r *rand.Rand, shift float64) any {
	if !f.categorical {
		return math.Round((f.mean+(r.NormFloat64()+shift)*f.std)*1000) / 1000
	}
	if shift > 0 && r.Float64() < min(shift, 1) {
		return f.categories[len(f.categories)-1]
	}
	u := r.Float64()
	for c, w := range f.weights {
		if u < w {
			return f.categories[c]
		}
	}
	return f.categories[len(f.categories)-1]
}

// table pre-formats tableSize JSON values of a feature.
func (f *feature) table(r *rand.Rand, shift, missing float64) [][]byte {
	t := make([][]byte, tableSize)
	for i := range t {
		if r.Float64() < missing {
			t[i] = []byte("null")
			continue
		}
		switch v := f.sample(r, shift).(type) {
		case float64:
			t[i] = strconv.AppendFloat(nil, v, 'f', -1, 64)
		case string:
			t[i] = strconv.AppendQuote(nil, v)
		}
	}
	return t
}

// ModelID names model i.
func ModelID(i int) string { return fmt.Sprintf("model-%03d", i) }

// ModelVersion is every generated model's version.
const ModelVersion = "v1"

// Profiles returns each model's reference profile, built from rows
// undrifted samples.
func Profiles(o Options, rows int) ([]*schemas.ReferenceProfile, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	fs := newFeatures(o)
	r := rand.New(rand.NewPCG(o.Seed, 99))
	cols := make([]reference.Column, len(fs))
	for i := range fs {
		f := &fs[i]
		c := reference.Column{Name: f.name, Kind: schemas.KindNumeric}
		if f.categorical {
			c.Kind = schemas.KindCategorical
		}
		for range rows {
			missing := r.Float64() < o.MissingShare
			switch v := f.sample(r, 0).(type) {
			case float64:
				if missing {
					v = math.NaN()
				}
				c.Numbers = append(c.Numbers, v)
			case string:
				if missing {
					v = ""
				}
				c.Strings = append(c.Strings, v)
			}
		}
		cols[i] = c
	}
	out := make([]*schemas.ReferenceProfile, o.Models)
	for m := range out {
		p, err := reference.FromColumns(ModelID(m), ModelVersion, cols)
		if err != nil {
			return nil, fmt.Errorf("reference profile of %s: %w", ModelID(m), err)
		}
		out[m] = p
	}
	return out, nil
}
