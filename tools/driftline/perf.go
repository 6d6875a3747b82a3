package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/perf"
	"github.com/driftline/driftline/services/reference"
)

// The columns driftline perf reads. prediction and label are required;
// score is the positive class's probability (binary), proba_<class> the
// probability of each class (multi-class); shadow_prediction a second
// model's class for McNemar's test. Other columns, request_id among them,
// are ignored.
const (
	colPrediction = "prediction"
	colLabel      = "label"
	colScore      = "score"
	colShadow     = "shadow_prediction"
	probaPrefix   = "proba_"
)

// Tasks driftline perf evaluates.
const (
	taskAuto           = "auto"
	taskClassification = "classification"
	taskRegression     = "regression"
)

// perfReport is the JSON output of driftline perf.
type perfReport struct {
	File          string                `json:"file"`
	Task          string                `json:"task"`
	Rows          int64                 `json:"rows"`
	Labeled       int64                 `json:"labeled"`
	LabelCoverage float64               `json:"label_coverage"`
	Positive      string                `json:"positive,omitempty"` // of the binary score metrics
	Metrics       map[string]perfMetric `json:"metrics"`
	Classes       []perfClass           `json:"classes,omitempty"`
	McNemar       *perfMcNemar          `json:"mcnemar,omitempty"`
	order         []string              // metric names in print order
}

// perfMetric is one metric; Error, when present, bounds its distance from
// scikit-learn's value on the raw scores (ROC AUC and PR AUC).
type perfMetric struct {
	Value float64  `json:"value"`
	Error *float64 `json:"error,omitempty"`
	Rows  int64    `json:"rows"`
}

type perfClass struct {
	Class     string  `json:"class"`
	Support   int64   `json:"support"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// perfMcNemar compares the prediction column (production) with
// shadow_prediction on the rows with a label and both predictions.
type perfMcNemar struct {
	Test               string  `json:"test"` // exact_binomial or chi2_corrected
	Rows               int64   `json:"rows"`
	ProductionAccuracy float64 `json:"production_accuracy"`
	ShadowAccuracy     float64 `json:"shadow_accuracy"`
	B                  int64   `json:"b"` // production right, shadow wrong
	C                  int64   `json:"c"` // production wrong, shadow right
	Statistic          float64 `json:"statistic"`
	PValue             float64 `json:"p_value"`
}

func cmdPerf(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("perf", stderr)
	path := fs.String("predictions", "", "CSV with a header row: prediction, label, and optionally score, proba_<class>, shadow_prediction")
	format := fs.String("format", "table", "output format: table or json")
	task := fs.String("task", taskAuto, "auto, classification or regression (auto: regression when there is no score or proba_ column and every prediction and label is a number)")
	positive := fs.String("positive", "", "positive class of the score column (default: the class that sorts last, e.g. 1 of 0/1, yes of no/yes)")
	bins := fs.Int("score-bins", perf.DefaultScoreBins, "score histogram bins for ROC AUC and PR AUC (exact when scores are multiples of 1/bins)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("perf: unexpected argument %q", fs.Arg(0))
	}
	if *path == "" {
		return errors.New("perf: --predictions is required")
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("perf: --format must be table or json, not %q", *format)
	}
	if *bins < 1 || *bins > perf.MaxScoreBins {
		return fmt.Errorf("perf: --score-bins %d: want 1 to %d", *bins, perf.MaxScoreBins)
	}
	if *task != taskAuto && *task != taskClassification && *task != taskRegression {
		return fmt.Errorf("perf: --task must be auto, classification or regression, not %q", *task)
	}
	f, err := os.Open(*path)
	if err != nil {
		return fmt.Errorf("perf: %w", err)
	}
	defer f.Close()
	rep, err := perfCSV(ctx, f, *path, perfOptions{task: *task, positive: *positive, bins: *bins})
	if err != nil {
		return fmt.Errorf("perf: %w", err)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return writePerfTable(stdout, rep)
}

type perfOptions struct {
	task, positive string
	bins           int
}

// perfColumns are the field indexes of the columns perf reads; -1 when
// absent.
type perfColumns struct {
	pred, label, score, shadow int
	proba                      []int
	probaClass                 []string
}

func findPerfColumns(rr *reference.RowReader) (perfColumns, error) {
	c := perfColumns{score: -1, shadow: -1}
	idx, err := rr.Index([]string{colPrediction, colLabel})
	if err != nil {
		return c, err
	}
	c.pred, c.label = idx[0], idx[1]
	for _, name := range rr.Header() {
		if name == colScore || name == colShadow || (strings.HasPrefix(name, probaPrefix) && len(name) > len(probaPrefix)) {
			i, err := rr.Index([]string{name}) // also rejects a column given twice
			if err != nil {
				return c, err
			}
			switch {
			case name == colScore:
				c.score = i[0]
			case name == colShadow:
				c.shadow = i[0]
			default:
				c.proba = append(c.proba, i[0])
				c.probaClass = append(c.probaClass, strings.TrimPrefix(name, probaPrefix))
			}
		}
	}
	return c, nil
}

// perfCSV reads the predictions one row at a time into a perf.State (and
// McNemar's counts) and reports the metrics of the task.
func perfCSV(ctx context.Context, r io.Reader, name string, opts perfOptions) (*perfReport, error) {
	st, err := perf.New(perf.Options{ScoreBins: opts.bins})
	if err != nil {
		return nil, err
	}
	rr, err := reference.NewRowReader(r, name)
	if err != nil {
		return nil, err
	}
	cols, err := findPerfColumns(rr)
	if err != nil {
		return nil, err
	}
	var paired perf.Paired
	numeric := true // every prediction and label is a number
	rows := 0
	for {
		rec, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if rows++; rows%65536 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pred := rec[cols.pred]
		if reference.IsMissing(pred) {
			return nil, rr.Errorf(cols.pred, "the prediction is missing")
		}
		if !utf8.ValidString(pred) {
			return nil, rr.Errorf(cols.pred, "value is not valid UTF-8")
		}
		p := schemas.Prediction{Class: &pred}
		if x, missing, ok := reference.ParseNumeric(pred); ok && !missing {
			p.Value = &x
		} else {
			numeric = false
		}
		if cols.score >= 0 {
			if p.Score, err = probability(rr, rec, cols.score); err != nil {
				return nil, err
			}
		}
		for k, i := range cols.proba {
			v, err := probability(rr, rec, i)
			if err != nil {
				return nil, err
			}
			if v != nil {
				if p.Probabilities == nil {
					p.Probabilities = make(map[string]float64, len(cols.proba))
				}
				p.Probabilities[cols.probaClass[k]] = *v
			}
		}
		var labelClass *string
		var labelValue *float64
		if label := rec[cols.label]; !reference.IsMissing(label) {
			if !utf8.ValidString(label) {
				return nil, rr.Errorf(cols.label, "value is not valid UTF-8")
			}
			labelClass = &label
			if y, _, ok := reference.ParseNumeric(label); ok {
				labelValue = &y
			} else {
				numeric = false
			}
			if cols.shadow >= 0 {
				if sh := rec[cols.shadow]; !reference.IsMissing(sh) {
					paired.Add(pred == label, sh == label)
				}
			}
		}
		if opts.task == taskRegression {
			// Classes of a regression are its distinct values: not counted.
			p.Class, labelClass = nil, nil
		}
		st.Add(p, labelClass, labelValue)
	}
	if rows == 0 {
		return nil, fmt.Errorf("%s: no data rows", name)
	}
	task := opts.task
	if task == taskAuto {
		task = taskClassification
		if numeric && cols.score < 0 && len(cols.proba) == 0 {
			task = taskRegression
		}
	}
	if task == taskRegression && !numeric {
		return nil, fmt.Errorf("%s: --task regression needs numbers in the %s and %s columns", name, colPrediction, colLabel)
	}
	rep := perfFromState(st, name, task, opts.positive, cols)
	if task == taskClassification && cols.shadow >= 0 {
		rep.McNemar = mcnemarOf(paired)
	}
	return rep, nil
}

// probability parses field i as a probability; nil when missing.
func probability(rr *reference.RowReader, rec []string, i int) (*float64, error) {
	x, missing, ok := reference.ParseNumeric(rec[i])
	switch {
	case !ok:
		return nil, rr.Errorf(i, "value is not a number")
	case missing:
		return nil, nil
	case x < 0 || x > 1:
		return nil, rr.Errorf(i, "probability %v is outside [0, 1]", x)
	}
	return &x, nil
}

// Metrics of each task, in print order.
var (
	classificationMetrics = []string{perf.MetricAccuracy, perf.MetricMacroPrecision, perf.MetricMacroRecall, perf.MetricMacroF1,
		perf.MetricROCAUC, perf.MetricPRAUC, perf.MetricLogLoss, perf.MetricBrier, perf.MetricECE}
	regressionMetrics = []string{perf.MetricMAE, perf.MetricRMSE, perf.MetricMAPE, perf.MetricR2}
)

func perfFromState(st *perf.State, name, task, positive string, cols perfColumns) *perfReport {
	rep := &perfReport{File: name, Task: task, Metrics: map[string]perfMetric{}}
	want := regressionMetrics
	if task == taskClassification {
		want = classificationMetrics
		if cols.score >= 0 && len(cols.proba) == 0 {
			rep.Positive = st.Positive(positive)
		}
	}
	keep := map[string]bool{perf.MetricInvalid: true}
	for _, m := range want {
		keep[m] = true
	}
	classes := map[string]*perfClass{}
	var classOrder []string
	for _, m := range st.Metrics(positive) {
		switch {
		case m.Name == perf.MetricPredictions:
			rep.Rows = m.Count
		case m.Name == perf.MetricLabeled:
			rep.Labeled = int64(m.Value)
		case m.Name == perf.MetricLabelCoverage:
			rep.LabelCoverage = m.Value
		case m.Class != "":
			if task != taskClassification {
				continue
			}
			c := classes[m.Class]
			if c == nil {
				c = &perfClass{Class: m.Class}
				classes[m.Class] = c
				classOrder = append(classOrder, m.Class)
			}
			switch m.Name {
			case perf.MetricSupport:
				c.Support = int64(m.Value)
			case perf.MetricPrecision:
				c.Precision = m.Value
			case perf.MetricRecall:
				c.Recall = m.Value
			case perf.MetricF1:
				c.F1 = m.Value
			}
		case keep[m.Name]:
			pm := perfMetric{Value: m.Value, Rows: m.Count}
			if m.Name == perf.MetricROCAUC || m.Name == perf.MetricPRAUC {
				e := m.Error
				pm.Error = &e
			}
			rep.Metrics[m.Name] = pm
		}
	}
	for _, name := range append(want, perf.MetricInvalid) {
		if _, ok := rep.Metrics[name]; ok {
			rep.order = append(rep.order, name)
		}
	}
	for _, c := range classOrder {
		rep.Classes = append(rep.Classes, *classes[c])
	}
	return rep
}

func mcnemarOf(p perf.Paired) *perfMcNemar {
	n := p.Both + p.OnlyA + p.OnlyB + p.Neither
	if n == 0 {
		return nil
	}
	r := p.McNemar()
	test := "chi2_corrected"
	if r.Exact {
		test = "exact_binomial"
	}
	return &perfMcNemar{Test: test, Rows: n,
		ProductionAccuracy: float64(p.Both+p.OnlyA) / float64(n), ShadowAccuracy: float64(p.Both+p.OnlyB) / float64(n),
		B: r.B, C: r.C, Statistic: r.Statistic, PValue: r.PValue}
}

// writePerfTable prints a summary line, the metrics, the per-class table
// and McNemar's test.
func writePerfTable(w io.Writer, rep *perfReport) error {
	head := fmt.Sprintf("%s: %s, %d rows, %d labelled (coverage %s)", rep.File, rep.Task, rep.Rows, rep.Labeled, formatFloat(rep.LabelCoverage))
	if rep.Positive != "" {
		head += fmt.Sprintf(", positive class %q", rep.Positive)
	}
	if _, err := fmt.Fprintln(w, head); err != nil {
		return err
	}
	if len(rep.order) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "\nMETRIC\tVALUE\tERROR\tROWS")
		for _, name := range rep.order {
			m := rep.Metrics[name]
			e := "-"
			if m.Error != nil {
				e = formatFloat(*m.Error)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", name, formatFloat(m.Value), e, m.Rows)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(rep.Classes) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "\nCLASS\tSUPPORT\tPRECISION\tRECALL\tF1")
		for _, c := range rep.Classes {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", c.Class, c.Support, formatFloat(c.Precision), formatFloat(c.Recall), formatFloat(c.F1))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if m := rep.McNemar; m != nil {
		verdict := "no significant difference at 0.05"
		if m.PValue < 0.05 {
			verdict = "production is better at 0.05"
			if m.C > m.B {
				verdict = "shadow is better at 0.05"
			}
		}
		test := "exact binomial"
		if m.Test == "chi2_corrected" {
			test = "chi-square with continuity correction"
		}
		_, err := fmt.Fprintf(w, "\nMcNemar, prediction vs %s over %d rows: accuracy %s vs %s, b=%d c=%d, %s statistic %s p=%s: %s\n",
			colShadow, m.Rows, formatFloat(m.ProductionAccuracy), formatFloat(m.ShadowAccuracy), m.B, m.C, test,
			formatFloat(m.Statistic), formatFloat(m.PValue), verdict)
		return err
	}
	return nil
}
