package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// The test data: testdata/perf_binary.csv (300 rows, scores on the 1/1000
// grid, every 10th label missing, a shadow_prediction column),
// perf_multiclass.csv (200 rows, proba_bird/cat/dog) and
// perf_regression.csv (150 rows, every 15th target 0, every 12th label
// NA), written by testdata/perf_gen.py with a fixed seed, which also writes
// scikit-learn's and scipy's values to testdata/perf_sklearn.json.

func TestPerfGolden(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		golden     string
	}{
		{"binary table", "perf_binary.csv", nil, "perf_binary_golden.txt"},
		{"binary json", "perf_binary.csv", []string{"--format", "json"}, "perf_binary_golden.json"},
		{"multiclass table", "perf_multiclass.csv", []string{"--format", "table"}, "perf_multiclass_golden.txt"},
		{"regression table", "perf_regression.csv", nil, "perf_regression_golden.txt"},
		{"regression json", "perf_regression.csv", []string{"--format", "json"}, "perf_regression_golden.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCmd(t, append([]string{"perf", "--predictions", "testdata/" + tt.file}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(tt.golden, ".json") {
				goldenJSON(t, tt.golden, out)
			} else {
				golden(t, tt.golden, out)
			}
		})
	}
}

type sklearnPerf struct {
	Rows    int64              `json:"rows"`
	Labeled int64              `json:"labeled"`
	Metrics map[string]float64 `json:"metrics"`
	Classes []perfClass        `json:"classes"`
	McNemar *perfMcNemar       `json:"mcnemar"`
}

func perfJSON(t *testing.T, args ...string) perfReport {
	t.Helper()
	out, _, err := runCmd(t, append([]string{"perf", "--format", "json"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var rep perfReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return rep
}

// Every metric against scikit-learn to 1e-12 relative: the binary scores
// lie on the histogram grid, so ROC AUC and PR AUC are exact there; the
// multi-class probabilities do not, so there they are within the error
// the report states.
func TestPerfAgainstScikitLearn(t *testing.T) {
	b, err := os.ReadFile("testdata/perf_sklearn.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]sklearnPerf
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	near := func(got, want float64) bool { return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want)) }
	tasks := map[string]string{"perf_binary.csv": taskClassification, "perf_multiclass.csv": taskClassification, "perf_regression.csv": taskRegression}
	for file, w := range want {
		t.Run(file, func(t *testing.T) {
			rep := perfJSON(t, "--predictions", "testdata/"+file)
			if rep.Task != tasks[file] || rep.Rows != w.Rows || rep.Labeled != w.Labeled {
				t.Errorf("task %s, %d rows, %d labelled; want %s, %d, %d", rep.Task, rep.Rows, rep.Labeled, tasks[file], w.Rows, w.Labeled)
			}
			if len(rep.Metrics) != len(w.Metrics) {
				t.Errorf("%d metrics, sklearn %d", len(rep.Metrics), len(w.Metrics))
			}
			for name, x := range w.Metrics {
				m, ok := rep.Metrics[name]
				if !ok {
					t.Errorf("%s: absent", name)
					continue
				}
				tol := 0.0
				if m.Error != nil && file == "perf_multiclass.csv" {
					tol = *m.Error
				}
				if math.Abs(m.Value-x) > tol && !near(m.Value, x) {
					t.Errorf("%s = %v, sklearn %v (stated error %v)", name, m.Value, x, tol)
				}
			}
			if len(rep.Classes) != len(w.Classes) {
				t.Fatalf("classes %v, sklearn %v", rep.Classes, w.Classes)
			}
			for i, c := range w.Classes {
				g := rep.Classes[i]
				if g.Class != c.Class || g.Support != c.Support || !near(g.Precision, c.Precision) || !near(g.Recall, c.Recall) || !near(g.F1, c.F1) {
					t.Errorf("class %+v, sklearn %+v", g, c)
				}
			}
			if (rep.McNemar == nil) != (w.McNemar == nil) {
				t.Fatalf("McNemar %+v, want %+v", rep.McNemar, w.McNemar)
			}
			if g, x := rep.McNemar, w.McNemar; x != nil {
				if g.Test != x.Test || g.B != x.B || g.C != x.C || g.Rows != x.Rows || !near(g.Statistic, x.Statistic) ||
					!near(g.PValue, x.PValue) || !near(g.ProductionAccuracy, x.ProductionAccuracy) || !near(g.ShadowAccuracy, x.ShadowAccuracy) {
					t.Errorf("McNemar %+v, scipy %+v", *g, *x)
				}
			}
		})
	}
}

// The task and the positive class can be forced.
func TestPerfOptions(t *testing.T) {
	// 0/1 predictions and labels are numbers: forced to regression, the
	// score column is ignored; class names that are numbers can be
	// classes.
	rep := perfJSON(t, "--predictions", "testdata/perf_binary.csv", "--task", "regression")
	if rep.Task != taskRegression || rep.Metrics["mae"].Value == 0 || rep.McNemar != nil || rep.Classes != nil {
		t.Errorf("forced regression: %+v", rep)
	}
	rep = perfJSON(t, "--predictions", "testdata/perf_regression.csv", "--task", "classification")
	if rep.Task != taskClassification || rep.Metrics["accuracy"].Rows != rep.Labeled {
		t.Errorf("forced classification: %+v", rep)
	}
	one := perfJSON(t, "--predictions", "testdata/perf_binary.csv")
	zero := perfJSON(t, "--predictions", "testdata/perf_binary.csv", "--positive", "0")
	if one.Positive != "1" || zero.Positive != "0" {
		t.Fatalf("positive classes %q and %q", one.Positive, zero.Positive)
	}
	// The score is the probability of 1: taking 0 as positive reverses the
	// ranking.
	if s := one.Metrics["roc_auc"].Value + zero.Metrics["roc_auc"].Value; math.Abs(s-1) > 1e-12 {
		t.Errorf("ROC AUC with 1 and with 0 positive sum to %v, want 1", s)
	}
}

// Bad input fails with the file, the line and the column.
func TestPerfErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no flags", nil, "--predictions is required"},
		{"bad format", []string{"--predictions", "testdata/perf_binary.csv", "--format", "xml"}, `--format must be table or json, not "xml"`},
		{"bad task", []string{"--predictions", "testdata/perf_binary.csv", "--task", "ranking"}, `--task must be auto, classification or regression, not "ranking"`},
		{"stray argument", []string{"--predictions", "testdata/perf_binary.csv", "extra"}, `unexpected argument "extra"`},
		{"bad bins", []string{"--predictions", "testdata/perf_binary.csv", "--score-bins", "0"}, "--score-bins 0: want 1 to 100000"},
		{"no such file", []string{"--predictions", "testdata/perf_nope.csv"}, "testdata/perf_nope.csv"},
		{"score not a number", []string{"--predictions", "testdata/perf_err_score.csv"}, `testdata/perf_err_score.csv:3: column "score": value is not a number`},
		{"probability out of range", []string{"--predictions", "testdata/perf_err_range.csv"}, `testdata/perf_err_range.csv:3: column "proba_b": probability 1.2 is outside [0, 1]`},
		{"missing prediction", []string{"--predictions", "testdata/perf_err_noprediction.csv"}, `testdata/perf_err_noprediction.csv:4: column "prediction": the prediction is missing`},
		{"no label column", []string{"--predictions", "testdata/perf_err_nolabel.csv"}, `testdata/perf_err_nolabel.csv:1: no column "label" in the header`},
		{"no rows", []string{"--predictions", "testdata/perf_err_empty.csv"}, "testdata/perf_err_empty.csv: no data rows"},
		{"ragged", []string{"--predictions", "testdata/perf_err_ragged.csv"}, "testdata/perf_err_ragged.csv:3: row has 2 fields, the header has 3"},
		{"regression of classes", []string{"--predictions", "testdata/perf_multiclass.csv", "--task", "regression"}, "--task regression needs numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCmd(t, append([]string{"perf"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if out != "" {
				t.Errorf("printed %q on error", out)
			}
		})
	}
}

// Whatever the bytes, perf reports or fails with an error; it never
// panics, and what it reports encodes as JSON.
func FuzzPerfCSV(f *testing.F) {
	for _, name := range []string{"perf_binary.csv", "perf_multiclass.csv", "perf_regression.csv", "perf_err_ragged.csv", "perf_err_range.csv"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 2048 {
			b = b[:2048]
		}
		f.Add(b)
	}
	f.Add([]byte("prediction,label,score,shadow_prediction,proba_x\n1,1,0.5,0,0.2\nx,,1,,\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, task := range []string{taskAuto, taskClassification} {
			rep, err := perfCSV(context.Background(), bytes.NewReader(b), "fuzz.csv", perfOptions{task: task, bins: 100})
			if err != nil {
				continue
			}
			if _, err := json.Marshal(rep); err != nil {
				t.Fatalf("report does not encode: %v", err)
			}
			if err := writePerfTable(new(bytes.Buffer), rep); err != nil {
				t.Fatal(err)
			}
		}
	})
}
