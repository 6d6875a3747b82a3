package loadgen

import (
	"flag"
	"fmt"
	"time"
)

// Flags binds the generator's options to fs; the returned function, called
// after parsing, finishes and returns them.
func Flags(fs *flag.FlagSet) func() (Options, error) {
	o := Defaults()
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random seed")
	fs.IntVar(&o.Models, "models", o.Models, "models (model-000, …)")
	fs.IntVar(&o.Features, "features", o.Features, "features per event (f000, …)")
	fs.Float64Var(&o.Categorical, "categorical", o.Categorical, "share of categorical features")
	fs.IntVar(&o.Segments, "segments", o.Segments, "distinct values of the region segment")
	fs.Float64Var(&o.ShadowShare, "shadow-share", o.ShadowShare, "share of requests with a shadow prediction")
	fs.Float64Var(&o.LabelShare, "labels", o.LabelShare, "share of requests that get a label (on the labels source)")
	fs.DurationVar(&o.LabelDelay, "label-delay", o.LabelDelay, "event time from a prediction to its label")
	fs.Float64Var(&o.MissingShare, "missing", o.MissingShare, "share of null feature values")
	fs.DurationVar(&o.Window, "window", o.Window, "window size the event time is laid out for")
	fs.IntVar(&o.EventsPerWindow, "window-events", o.EventsPerWindow, "inference records per window of event time")
	drift := fs.String("drift", "", `drift schedule "feature@offset[:shift],…", e.g. f003@10m:1.5 (offset in event time from --start)`)
	start := fs.String("start", "", "event time of the first record (RFC 3339; default: the current minute)")
	return func() (Options, error) {
		var err error
		if o.Drift, err = ParseDrift(*drift); err != nil {
			return o, err
		}
		if *start != "" {
			if o.Start, err = time.Parse(time.RFC3339, *start); err != nil {
				return o, fmt.Errorf("--start: %w", err)
			}
			o.Start = o.Start.UTC()
		}
		return o, o.validate()
	}
}
