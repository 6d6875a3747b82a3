"""Generates the perf_*.csv inputs of perf_test.go and perf_sklearn.json,
the values scikit-learn 1.9 and scipy give for them.

Run from tools/driftline/testdata with the venv's python:
  ~/.cache/driftline/venv/bin/python perf_gen.py
The files are committed; rerunning rewrites them identically (fixed seed).

perf_binary.csv: scores with three decimals, so on the 1/1000 histogram grid:
ROC AUC and PR AUC are exact. Every 10th label is missing. ECE is
docs/perf.md's definition over calibration_curve's ten uniform bins.
McNemar compares prediction with shadow_prediction on the labelled rows:
exact binomial (scipy.stats.binomtest) below 25 discordant pairs, else
chi-square with continuity correction (scipy.stats.chi2).
"""
import csv
import json

import numpy as np
from scipy import stats
from sklearn import metrics
from sklearn.calibration import calibration_curve

rng = np.random.default_rng(20261123)


def ece(y, p):
    y, p = np.asarray(y, float), np.asarray(p, float)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    binids = np.searchsorted(np.linspace(0.0, 1.0, 11)[1:-1], p)
    total = np.bincount(binids, minlength=10)
    total = total[total != 0]
    return float(np.sum(total / len(y) * np.abs(prob_true - prob_pred)))


def classes_expected(y, p):
    classes = sorted(set(y) | set(p))
    pr, rc, f1, sup = metrics.precision_recall_fscore_support(y, p, labels=classes, zero_division=0)
    mp, mr, mf, _ = metrics.precision_recall_fscore_support(y, p, labels=classes, average="macro", zero_division=0)
    return {
        "accuracy": metrics.accuracy_score(y, p),
        "macro_precision": mp, "macro_recall": mr, "macro_f1": mf,
    }, [{"class": c, "support": int(s), "precision": float(a), "recall": float(b), "f1": float(f)}
        for c, a, b, f, s in zip(classes, pr, rc, f1, sup)]


def write(name, header, rows):
    with open(name, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


expected = {}

# Binary.
n = 300
truth = rng.random(n) < 0.4
score = np.round(np.clip(rng.normal(0.35 + 0.3 * truth, 0.2), 0, 1), 3)
shadow_score = np.clip(score + rng.normal(0.05, 0.15, n), 0, 1)
pred = np.where(score >= 0.5, "1", "0")
shadow = np.where(shadow_score >= 0.5, "1", "0")
label = np.where(truth, "1", "0").astype(object)
label[::10] = ""
write("perf_binary.csv", ["request_id", "prediction", "score", "label", "shadow_prediction"],
      [["r%03d" % i, pred[i], "%.3f" % score[i], label[i], shadow[i]] for i in range(n)])
keep = label != ""
y, s, p, sh = label[keep].astype(str), score[keep], pred[keep], shadow[keep]
yb = (y == "1").astype(int)
m, cls = classes_expected(list(y), list(p))
m.update({
    "roc_auc": metrics.roc_auc_score(yb, s),
    "pr_auc": metrics.average_precision_score(yb, s),
    "log_loss": metrics.log_loss(yb, np.column_stack([1 - s, s]), labels=[0, 1]),
    "brier": metrics.brier_score_loss(yb, s),
    "ece": ece(yb, s),
})
b = int(np.sum((p == y) & (sh != y)))
c = int(np.sum((p != y) & (sh == y)))
if b + c < 25:
    mc = {"test": "exact_binomial", "statistic": min(b, c), "p_value": stats.binomtest(b, b + c, 0.5).pvalue}
else:
    st = (abs(b - c) - 1) ** 2 / (b + c)
    mc = {"test": "chi2_corrected", "statistic": st, "p_value": stats.chi2.sf(st, 1)}
mc.update({"b": b, "c": c, "rows": int(keep.sum()),
           "production_accuracy": float(np.mean(p == y)), "shadow_accuracy": float(np.mean(sh == y))})
expected["perf_binary.csv"] = {"rows": n, "labeled": int(keep.sum()), "metrics": m, "classes": cls, "mcnemar": mc}

# Multi-class with probabilities.
names = ["bird", "cat", "dog"]
n = 200
t = rng.integers(0, 3, n)
P = np.array([rng.dirichlet(np.ones(3) + 2.0 * np.eye(3)[k]) for k in t])
pred = [names[int(np.argmax(r))] for r in P]
label = [names[k] for k in t]
write("perf_multiclass.csv", ["request_id", "prediction", "proba_bird", "proba_cat", "proba_dog", "label"],
      [["m%03d" % i, pred[i]] + [repr(float(v)) for v in P[i]] + [label[i]] for i in range(n)])
m, cls = classes_expected(label, pred)
Y = np.array([[1 if l == c else 0 for c in names] for l in label])
top = P.max(axis=1)
correct = np.array([pred[i] == label[i] for i in range(n)], dtype=int)
m.update({
    "roc_auc": metrics.roc_auc_score(label, P, multi_class="ovr", average="macro", labels=names),
    "pr_auc": metrics.average_precision_score(Y, P, average="macro"),
    "log_loss": metrics.log_loss(label, P, labels=names),
    "brier": metrics.brier_score_loss(label, P, labels=names),
    "ece": ece(correct, top),
})
expected["perf_multiclass.csv"] = {"rows": n, "labeled": n, "metrics": m, "classes": cls}

# Regression, with zero targets and missing labels.
n = 150
yt = np.round(rng.normal(20, 8, n), 2)
yt[::15] = 0
yp = np.round(yt + rng.normal(0, 2, n), 2)
lab = [("NA" if i % 12 == 5 else "%.2f" % yt[i]) for i in range(n)]
write("perf_regression.csv", ["request_id", "prediction", "label"],
      [["g%03d" % i, "%.2f" % yp[i], lab[i]] for i in range(n)])
keep = np.array([l != "NA" for l in lab])
a, b = yt[keep], yp[keep]
expected["perf_regression.csv"] = {"rows": n, "labeled": int(keep.sum()), "metrics": {
    "mae": metrics.mean_absolute_error(a, b),
    "rmse": metrics.root_mean_squared_error(a, b),
    "mape": metrics.mean_absolute_percentage_error(a, b),
    "r2": metrics.r2_score(a, b),
}}

with open("perf_sklearn.json", "w") as f:
    json.dump(expected, f, indent=1, default=float)
    f.write("\n")

# Bad files: each fails with the file, the line and the column.
write("perf_err_score.csv", ["request_id", "prediction", "score", "label"],
      [["a", "1", "0.5", "1"], ["b", "0", "high", "0"]])
write("perf_err_range.csv", ["request_id", "prediction", "proba_a", "proba_b", "label"],
      [["a", "a", "0.5", "0.5", "a"], ["b", "b", "0.2", "1.2", "b"]])
write("perf_err_noprediction.csv", ["request_id", "prediction", "label"],
      [["a", "x", "x"], ["b", "y", "y"], ["c", "", "y"]])
write("perf_err_nolabel.csv", ["request_id", "prediction", "score"], [["a", "1", "0.3"]])
write("perf_err_empty.csv", ["request_id", "prediction", "label"], [])
with open("perf_err_ragged.csv", "w") as f:
    f.write("request_id,prediction,label\na,1,1\nb,0\n")
