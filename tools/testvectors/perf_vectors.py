#!/usr/bin/env python3
"""Write the performance-metric test vectors for services/perf.

Each case is a set of rows (predicted class, binary score or probabilities
per class, predicted value, and a class or value label, null when the label
is missing) with the values scikit-learn 1.9 gives for them. The Go tests in
services/perf add the rows to a perf.State and check every metric within the
error its doc comment states:

- metrics from counts and sums (accuracy, precision, recall, F1, log loss,
  Brier, MAE, RMSE, MAPE, R2) to 1e-12 relative;
- ROC AUC and PR AUC on scores that lie on the histogram grid (multiples of
  1/SCORE_BINS) exactly, i.e. to 1e-12; on raw scores within the bound the
  state reports, and, on the scores rounded to the grid with numpy.rint
  (which is how the state bins them), exactly ("*_binned" values);
- ECE, which sklearn does not provide, computed here from
  sklearn.calibration.calibration_curve(strategy="uniform") exactly as
  services/perf defines it: sum over bins of |sum(y) - sum(p)| / n, where
  for binary scores p is the positive class's score and y whether the label
  is positive, and for probabilities p is the top class's probability and y
  whether the top class is the label (top-label calibration error).

Multi-class ROC AUC and PR AUC are the mean over classes of the binary
one-vs-rest values (what roc_auc_score(multi_class="ovr", average="macro")
and average_precision_score(average="macro") compute; the script checks that
it agrees with them where sklearn accepts the input).

McNemar vectors: the exact test is scipy.stats.binomtest(b, b + c, 0.5)'s
two-sided p-value, the chi-square test scipy.stats.chi2.sf((|b - c| - 1)^2 /
(b + c), 1); both are checked against statsmodels' mcnemar when it is
installed.

Run from the repository root with the project's venv (make venv):

    ~/.cache/driftline/venv/bin/python tools/testvectors/perf_vectors.py

It writes services/perf/testdata/perf_vectors.json; the output depends only
on the seeds below and the pinned numpy, scipy and scikit-learn.
"""

import json
import math
import pathlib

import numpy as np
import scipy
import sklearn
from scipy import stats
from sklearn import metrics
from sklearn.calibration import calibration_curve

OUT = pathlib.Path(__file__).resolve().parents[2] / "services" / "perf" / "testdata" / "perf_vectors.json"

SCORE_BINS = 1000  # perf.DefaultScoreBins
CAL_BINS = 10  # perf.DefaultCalibrationBins
EXACT_BELOW = 25  # perf.ExactBelow


def f(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def ece(y, p):
    """sum_b |sum(y in b) - sum(p in b)| / n over calibration_curve's bins."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=CAL_BINS, strategy="uniform")
    binids = np.searchsorted(np.linspace(0.0, 1.0, CAL_BINS + 1)[1:-1], p)
    total = np.bincount(binids, minlength=CAL_BINS)
    total = total[total != 0]
    return float(np.sum(total / len(y) * np.abs(prob_true - prob_pred)))


def grid(x):
    return np.rint(np.asarray(x) * SCORE_BINS) / SCORE_BINS


def auc_or_none(fn, *args, **kw):
    try:
        v = fn(*args, **kw)
    except ValueError:
        return None
    return f(v)


def classification_expected(labels, preds):
    """Accuracy and per-class and macro precision, recall, F1 on rows with a
    label and a predicted class."""
    keep = [i for i in range(len(labels)) if labels[i] is not None and preds[i] is not None]
    if not keep:
        return {}
    y = [labels[i] for i in keep]
    p = [preds[i] for i in keep]
    classes = sorted(set(y) | set(p))
    pr, rc, f1, support = metrics.precision_recall_fscore_support(y, p, labels=classes, zero_division=0)
    mp, mr, mf, _ = metrics.precision_recall_fscore_support(y, p, labels=classes, average="macro", zero_division=0)
    return {
        "accuracy": metrics.accuracy_score(y, p),
        "precision": {c: float(v) for c, v in zip(classes, pr)},
        "recall": {c: float(v) for c, v in zip(classes, rc)},
        "f1": {c: float(v) for c, v in zip(classes, f1)},
        "support": {c: int(v) for c, v in zip(classes, support)},
        "macro_precision": float(mp),
        "macro_recall": float(mr),
        "macro_f1": float(mf),
    }


def binary_case(name, labels, preds, scores, positive, note):
    labels = list(labels)
    keep = [i for i in range(len(labels)) if labels[i] is not None]
    y = np.array([labels[i] == positive for i in keep], dtype=int)
    s = np.array([scores[i] for i in keep], dtype=float)
    exp = classification_expected(labels, preds)
    exp["predictions"] = len(labels)
    exp["labeled"] = len(keep)
    if keep:
        exp["roc_auc"] = auc_or_none(metrics.roc_auc_score, y, s)
        exp["roc_auc_binned"] = auc_or_none(metrics.roc_auc_score, y, grid(s))
        if y.sum() > 0:
            exp["pr_auc"] = f(metrics.average_precision_score(y, s))
            exp["pr_auc_binned"] = f(metrics.average_precision_score(y, grid(s)))
        # log_loss on the two columns [1 - s, s]; the labels argument lets
        # one-class inputs through.
        exp["log_loss"] = metrics.log_loss(y, np.column_stack([1 - s, s]), labels=[0, 1])
        exp["brier"] = metrics.brier_score_loss(y, s, pos_label=1)
        exp["ece"] = ece(y, s)
    return {"name": name, "note": note, "kind": "binary", "positive": positive,
            "label": labels, "pred": list(preds), "score": [f(x) for x in scores], "expected": exp}


def multiclass_case(name, labels, probs, classes, note):
    """probs: rows x classes (sorted classes), each row summing to 1."""
    labels = list(labels)
    preds = [classes[int(np.argmax(r))] for r in probs]
    keep = [i for i in range(len(labels)) if labels[i] is not None]
    y = [labels[i] for i in keep]
    P = np.asarray([probs[i] for i in keep], float)
    exp = classification_expected(labels, preds)
    exp["predictions"] = len(labels)
    exp["labeled"] = len(keep)
    Y = np.array([[1 if l == c else 0 for c in classes] for l in y])
    aucs, aucs_b, aps, aps_b = [], [], [], []
    for k in range(len(classes)):
        aucs.append(metrics.roc_auc_score(Y[:, k], P[:, k]))
        aucs_b.append(metrics.roc_auc_score(Y[:, k], grid(P[:, k])))
        aps.append(metrics.average_precision_score(Y[:, k], P[:, k]))
        aps_b.append(metrics.average_precision_score(Y[:, k], grid(P[:, k])))
    exp["roc_auc"] = float(np.mean(aucs))
    exp["roc_auc_binned"] = float(np.mean(aucs_b))
    exp["pr_auc"] = float(np.mean(aps))
    exp["pr_auc_binned"] = float(np.mean(aps_b))
    direct = metrics.roc_auc_score(y, P, multi_class="ovr", average="macro", labels=classes)
    assert abs(direct - exp["roc_auc"]) < 1e-12, (direct, exp["roc_auc"])
    direct = metrics.average_precision_score(Y, P, average="macro")
    assert abs(direct - exp["pr_auc"]) < 1e-12, (direct, exp["pr_auc"])
    exp["log_loss"] = metrics.log_loss(y, P, labels=classes)
    exp["brier"] = metrics.brier_score_loss(y, P, labels=classes)
    top = P.max(axis=1)
    correct = np.array([classes[int(np.argmax(r))] == l for r, l in zip(P, y)], dtype=int)
    exp["ece"] = ece(correct, top)
    return {"name": name, "note": note, "kind": "multiclass", "classes": classes,
            "label": labels, "pred": preds, "proba": {c: [float(r[k]) for r in probs] for k, c in enumerate(classes)},
            "expected": exp}


def regression_case(name, y, pred, note):
    y = list(y)
    keep = [i for i in range(len(y)) if y[i] is not None]
    yt = np.array([y[i] for i in keep], float)
    yp = np.array([pred[i] for i in keep], float)
    exp = {"predictions": len(y), "labeled": len(keep)}
    if keep:
        exp["mae"] = metrics.mean_absolute_error(yt, yp)
        exp["rmse"] = metrics.root_mean_squared_error(yt, yp)
        exp["mape"] = metrics.mean_absolute_percentage_error(yt, yp)
        if len(keep) >= 2:
            exp["r2"] = metrics.r2_score(yt, yp)
    return {"name": name, "note": note, "kind": "regression",
            "label_value": [f(v) for v in y], "pred_value": [float(v) for v in pred], "expected": exp}


def mcnemar(b, c, exact):
    n = b + c
    if exact:
        p = 1.0 if n == 0 else stats.binomtest(b, n, 0.5).pvalue
        stat = min(b, c)
    else:
        stat = (abs(b - c) - 1) ** 2 / n
        p = stats.chi2.sf(stat, 1)
    try:
        from statsmodels.stats.contingency_tables import mcnemar as sm

        r = sm([[0, b], [c, 0]], exact=exact, correction=True)
        assert abs(r.pvalue - p) <= 1e-12 * max(1, p), (b, c, exact, r.pvalue, p)
        assert abs(r.statistic - stat) <= 1e-12 * max(1, stat), (b, c, exact, r.statistic, stat)
    except ImportError:
        pass
    return {"b": b, "c": c, "exact": exact, "statistic": float(stat), "p_value": float(p)}


def main():
    rng = np.random.default_rng(20261123)
    cases = []

    # Binary, continuous scores: AUCs within the reported binning bound.
    n = 2000
    y = rng.random(n) < 0.3
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.18), 0, 1)
    labels = ["1" if v else "0" for v in y]
    preds = ["1" if v >= 0.5 else "0" for v in s]
    cases.append(binary_case("binary_raw", labels, preds, s, "1",
                             "continuous scores: AUCs within the state's bound, binned values exact"))

    # Binary, scores on the grid (many ties): AUCs equal sklearn's.
    s = grid(np.clip(rng.beta(2 + 3 * y, 4 - 2 * y), 0, 1))
    preds = ["1" if v >= 0.5 else "0" for v in s]
    cases.append(binary_case("binary_grid", labels, preds, s, "1",
                             "scores rounded to 1/1000 (many ties): AUCs exact"))

    # Heavy ties, string classes, some labels missing.
    m = 400
    yy = rng.random(m) < 0.5
    s = rng.choice([0.1, 0.25, 0.5, 0.75, 0.9], size=m, p=[0.2, 0.2, 0.2, 0.2, 0.2])
    s = np.where(yy, np.minimum(s + 0.25 * (rng.random(m) < 0.5), 0.9), s)
    labels = ["yes" if v else "no" for v in yy]
    labels = [None if i % 7 == 3 else l for i, l in enumerate(labels)]
    preds = ["yes" if v >= 0.5 else "no" for v in s]
    cases.append(binary_case("binary_ties", labels, preds, s, "yes",
                             "five distinct scores, yes/no labels, every 7th label missing"))

    cases.append(binary_case("binary_single_row", ["1"], ["1"], [0.8], "1",
                             "one row: ROC AUC undefined (absent), AP 1"))

    yy = ["1"] * 50
    s = rng.random(50)
    preds = ["1" if v >= 0.5 else "0" for v in s]
    cases.append(binary_case("binary_one_class", yy, preds, s, "1",
                             "labels all positive: ROC AUC undefined (absent), AP 1"))

    cases.append(binary_case("binary_no_labels", [None] * 20, ["1"] * 20, list(rng.random(20)), "1",
                             "no label arrived: counts only"))

    # Multi-class with probabilities.
    classes = ["bird", "cat", "dog"]
    m = 1500
    truth = rng.integers(0, 3, m)
    alpha = np.ones((m, 3)) + 2.5 * np.eye(3)[truth]
    P = np.array([rng.dirichlet(a) for a in alpha])
    labels = [classes[t] for t in truth]
    labels = [None if i % 11 == 5 else l for i, l in enumerate(labels)]
    cases.append(multiclass_case("multiclass", labels, P, classes,
                                 "three classes, Dirichlet probabilities, every 11th label missing"))

    # Many classes: the state keeps the 100 smallest names by name.
    k = 120
    names = ["c%03d" % i for i in range(k)]
    m = 3000
    truth = rng.integers(0, k, m)
    pred = np.where(rng.random(m) < 0.6, truth, rng.integers(0, k, m))
    cases.append({"name": "many_classes", "kind": "classes", "note": "120 classes: the first 100 kept by name",
                  "label": [names[t] for t in truth], "pred": [names[p] for p in pred],
                  "expected": dict(classification_expected([names[t] for t in truth], [names[p] for p in pred]),
                                   predictions=m, labeled=m)})

    # Regression.
    m = 1000
    yt = rng.normal(50, 12, m)
    yp = yt + rng.normal(0, 4, m)
    cases.append(regression_case("regression", yt, yp, "normal targets"))
    yt = np.round(rng.normal(0, 2, 200))
    yp = yt + rng.normal(0, 1, 200)
    yl = [None if i % 9 == 0 else v for i, v in enumerate(yt)]
    cases.append(regression_case("regression_zeros", yl, yp,
                                 "integer targets, many exactly 0: MAPE uses max(|y|, eps); every 9th label missing"))
    yt = 1e9 + rng.normal(0, 1, 500)
    cases.append(regression_case("regression_large_mean", yt, yt + rng.normal(0, 0.5, 500),
                                 "mean 1e9, spread 1: R2 without cancellation"))
    cases.append(regression_case("regression_single_row", [3.0], [2.5], "one row: R2 undefined (absent)"))
    cases.append(regression_case("regression_constant", [2.0] * 5, [2.0, 2.0, 2.5, 2.0, 2.0],
                                 "constant labels: R2 0 (sklearn's force_finite)"))

    mc = []
    for b, c in [(0, 0), (1, 0), (0, 5), (3, 9), (10, 14), (12, 12), (12, 13), (7, 30), (40, 60), (500, 430), (1000, 1000), (0, 30)]:
        mc.append(mcnemar(b, c, b + c < EXACT_BELOW))
    for b, c in [(30, 45), (300, 340), (2, 40)]:
        mc.append(mcnemar(b, c, True))
    for b, c in [(3, 9), (1, 0)]:
        mc.append(mcnemar(b, c, False))

    out = {
        "generator": "tools/testvectors/perf_vectors.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__},
        "score_bins": SCORE_BINS,
        "calibration_bins": CAL_BINS,
        "cases": cases,
        "mcnemar": mc,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
