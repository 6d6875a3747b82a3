package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/reference"
	"github.com/driftline/driftline/services/stats"
)

// driftReport is the JSON output of driftline drift.
type driftReport struct {
	DatasetDrift  bool          `json:"dataset_drift"`
	DriftedShare  float64       `json:"drifted_share"`
	Columns       []driftColumn `json:"columns"`
	datasetTested int           // columns with a verdict
	datasetHits   int           // of which drifted
}

// driftColumn is one column's result. Score is the default test's value
// (the p-value for ks and chi2, drift when below Threshold; the distance
// for wasserstein_normed and jensen_shannon, drift at or above it); it is
// null when either file has no values in the column, which then has no
// verdict and does not count towards the dataset's drifted share.
type driftColumn struct {
	Name          string             `json:"name"`
	Kind          string             `json:"kind"`
	Test          string             `json:"test"`
	Threshold     float64            `json:"threshold"`
	Score         *float64           `json:"score"`
	DriftDetected bool               `json:"drift_detected"`
	Metrics       map[string]float64 `json:"metrics"`
}

// testNames names stats' tests in the output: the key prefix of the
// test's metrics.
var testNames = stats.TestNames

func cmdDrift(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("drift", stderr)
	refPath := fs.String("reference", "", "reference dataset (CSV with a header row), e.g. the training data")
	curPath := fs.String("current", "", "current dataset (CSV with a header row), read one row at a time")
	format := fs.String("format", "table", "output format: table or json")
	columns := fs.String("columns", "", "comma-separated columns to compare (default: every column of the reference)")
	categorical := fs.String("categorical", "", "comma-separated columns to treat as categorical")
	testFlag := fs.String("test", "", "override the default test: TEST[:THRESHOLD] for every column or COLUMN=TEST[:THRESHOLD], comma-separated; "+
		"TEST is ks, chi2, z, psi, wasserstein_normed, jensen_shannon, hellinger or kl_divergence (or Evidently's name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("drift: unexpected argument %q", fs.Arg(0))
	}
	if *refPath == "" || *curPath == "" {
		return errors.New("drift: --reference and --current are required")
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("drift: --format must be table or json, not %q", *format)
	}
	tests, err := stats.ParseTests(*testFlag)
	if err != nil {
		return fmt.Errorf("drift: --%w", err)
	}
	rep, err := driftFiles(ctx, *refPath, *curPath, split(*columns), split(*categorical), tests)
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return writeDriftTable(stdout, rep)
}

// driftFiles profiles the reference, streams the current file into one
// sketch per profiled column and compares them.
func driftFiles(ctx context.Context, refPath, curPath string, columns, categorical []string, tests stats.Overrides) (*driftReport, error) {
	rf, err := os.Open(refPath)
	if err != nil {
		return nil, err
	}
	defer rf.Close()
	prof, err := reference.FromCSV(rf, reference.Options{Name: refPath, Columns: columns, Categorical: categorical})
	if err != nil {
		return nil, err
	}
	// The tests must apply to their columns before the current file is read.
	chosen := make([]stats.Test, len(prof.Features))
	for i := range prof.Features {
		fp := &prof.Features[i]
		t, ok := tests.For(fp.Name)
		if !ok {
			continue
		}
		if chosen[i], err = stats.CheckTest(fp, t); err != nil {
			return nil, fmt.Errorf("--test for column %q: %w", fp.Name, err)
		}
	}
	for name := range tests.ByFeature {
		if !slices.ContainsFunc(prof.Features, func(f schemas.FeatureProfile) bool { return f.Name == name }) {
			return nil, fmt.Errorf("--test: no compared column %q", name)
		}
	}

	cf, err := os.Open(curPath)
	if err != nil {
		return nil, err
	}
	defer cf.Close()
	sketches, err := sketchCurrent(ctx, cf, curPath, prof)
	if err != nil {
		return nil, err
	}
	return compare(prof, sketches, chosen)
}

// sketchCurrent reads the current CSV one row at a time into a sketch per
// feature of prof; memory does not grow with the number of rows.
func sketchCurrent(ctx context.Context, r io.Reader, name string, prof *schemas.ReferenceProfile) ([]*stats.Sketch, error) {
	rr, err := reference.NewRowReader(r, name)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(prof.Features))
	sketches := make([]*stats.Sketch, len(prof.Features))
	for i := range prof.Features {
		names[i] = prof.Features[i].Name
		sketches[i] = stats.NewSketch(&prof.Features[i])
	}
	idx, err := rr.Index(names)
	if err != nil {
		return nil, fmt.Errorf("%w (every compared column of the reference must be in the current file)", err)
	}
	// Each sketch is fed by one goroutine; the columns are read in parallel.
	rows, err := rr.ForEachField(ctx, idx, func(k int, field string) error {
		s := sketches[k]
		if prof.Features[k].Kind == schemas.KindNumeric {
			// A value that is not a number counts as a type mismatch
			// (type_mismatch_share), as a string in a numeric feature
			// does in the streaming service.
			x, missing, ok := reference.ParseNumeric(field)
			switch {
			case !ok:
				s.AddString(field)
			case missing:
				s.Add(nil)
			default:
				s.AddFloat64(x)
			}
			return nil
		}
		if reference.IsMissing(field) {
			s.Add(nil)
		} else {
			s.AddString(field) // invalid UTF-8 is a type mismatch
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rows == 0 {
		return nil, fmt.Errorf("%s: no data rows", name)
	}
	return sketches, nil
}

// compare computes every column's statistics and the dataset verdict;
// tests[i] decides column i (the zero Test: the default test).
func compare(prof *schemas.ReferenceProfile, sketches []*stats.Sketch, tests []stats.Test) (*driftReport, error) {
	rep := &driftReport{Columns: make([]driftColumn, 0, len(sketches))}
	var verdicts []bool
	for i, s := range sketches {
		fp := &prof.Features[i]
		// A zero Test lets DriftTest choose, which may take the window
		// into account (a new value next to a binary reference); the
		// column reports the test of the verdict it returns.
		t := tests[i]
		shown := t
		if shown.Metric == "" {
			shown.Metric, shown.Threshold = stats.DefaultTest(fp, fp.Count)
		}
		col := driftColumn{
			Name:      fp.Name,
			Kind:      fp.Kind,
			Test:      testNames[shown.Metric],
			Threshold: shown.Threshold,
			Metrics:   map[string]float64{},
		}
		if n := fp.Count + fp.Missing; n > 0 {
			col.Metrics["missing_share_reference"] = float64(fp.Missing) / float64(n)
		}
		results, err := stats.DriftTest(fp, s, t)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", fp.Name, err)
		}
		for _, r := range results {
			switch r.Metric {
			case stats.MetricMissingShare:
				col.Metrics["missing_share_current"] = r.Value
			case stats.MetricKS, stats.MetricChi2, stats.MetricZ:
				col.Metrics[testNames[r.Metric]+"_statistic"] = r.Value
				col.Metrics[testNames[r.Metric]+"_p_value"] = *r.PValue
			default:
				col.Metrics[r.Metric] = r.Value
			}
			if r.Verdict {
				col.Test = testNames[r.Metric]
				if r.Threshold != nil {
					col.Threshold = *r.Threshold
				}
				score := r.Value
				if r.PValue != nil {
					score = *r.PValue
				}
				col.Score = &score
				col.DriftDetected = r.Detected
				verdicts = append(verdicts, r.Detected)
			}
		}
		rep.Columns = append(rep.Columns, col)
	}
	rep.DriftedShare, rep.DatasetDrift = stats.DatasetDrift(verdicts, stats.DatasetDriftThreshold)
	rep.datasetTested = len(verdicts)
	for _, v := range verdicts {
		if v {
			rep.datasetHits++
		}
	}
	return rep, nil
}

// writeDriftTable prints one aligned row per column, then the dataset
// verdict.
func writeDriftTable(w io.Writer, rep *driftReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tKIND\tTEST\tSCORE\tTHRESHOLD\tDRIFT")
	for _, c := range rep.Columns {
		score, drift := "-", "no values"
		if c.Score != nil {
			score = formatFloat(*c.Score)
			drift = "no"
			if c.DriftDetected {
				drift = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Kind, c.Test, score, formatFloat(c.Threshold), drift)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "no drift"
	if rep.DatasetDrift {
		verdict = "DRIFT"
	}
	_, err := fmt.Fprintf(w, "dataset: %s: %d of %d tested columns drifted (share %s, drift at >= %s)\n",
		verdict, rep.datasetHits, rep.datasetTested, formatFloat(rep.DriftedShare), formatFloat(stats.DatasetDriftThreshold))
	return err
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
