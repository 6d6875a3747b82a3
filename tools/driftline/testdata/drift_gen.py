"""Generates drift_reference.csv and drift_current.csv for drift_test.go and
prints the values the test checks, computed with numpy/scipy.

Run from tools/driftline/testdata with the venv's python:
  ~/.cache/driftline/venv/bin/python drift_gen.py
The CSVs are committed; rerunning rewrites them identically (fixed seed).
"""
import csv

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

rng = np.random.default_rng(20240601)

def ints(loc, scale, n, lo, hi):
    return np.clip(np.round(rng.normal(loc, scale, n)), lo, hi).astype(int)

# Integer values, at most 100 distinct in the reference: then the sketch's
# KS statistic (and, inside the reference range, Wasserstein) is exact.
N, M = 300, 200
ref = {
    "id": np.arange(1, N + 1),
    "age": ints(45, 10, N, 18, 80),
    "income": ints(60, 12, N, 20, 120),  # thousands
    "plan": rng.choice(["basic", "pro", "team"], N, p=[0.5, 0.3, 0.2]),
}
cur = {
    "id": np.arange(1001, 1001 + M),
    "age": ints(45, 10, M, 18, 80),  # same distribution: stable
    "income": ints(72, 12, M, 20, 140),  # shifted by one std: drifted
    "plan": rng.choice(["basic", "pro", "team", "enterprise"], M, p=[0.45, 0.25, 0.2, 0.1]),
}

def write(path, cols, n, missing_income):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "age", "income", "plan", "comment"])
        for i in range(n):
            inc = "NA" if i in missing_income else cols["income"][i]
            w.writerow([cols["id"][i], cols["age"][i], inc, cols["plan"][i], ""])

ref_missing = set(range(0, N, 30))  # 10 of 300
cur_missing = set(range(5, M, 20))  # 10 of 200
write("drift_reference.csv", ref, N, ref_missing)
write("drift_current.csv", cur, M, cur_missing)

def present(x, missing):
    return np.array([v for i, v in enumerate(x) if i not in missing], dtype=float)

r_inc, c_inc = present(ref["income"], ref_missing), present(cur["income"], cur_missing)
r_age, c_age = ref["age"].astype(float), cur["age"].astype(float)

for name, r, c in [("age", r_age, c_age), ("income", r_inc, c_inc)]:
    ks = stats.ks_2samp(r, c, method="asymp")
    print(f"{name}: ks_statistic={ks.statistic!r} ks_p_value={ks.pvalue!r}")
    print(f"{name}: wasserstein={stats.wasserstein_distance(r, c)!r} std={np.std(r)!r}")
    print(f"{name}: distinct ref values={len(np.unique(r))} cur outside ref range={np.sum((c < r.min()) | (c > r.max()))}")

    # PSI over the reference's ten equal-frequency bins (services/reference:
    # inner edges at ranks floor(j*n/10), bin i = [e_{i-1}, e_i)), with
    # Evidently's epsilon for empty cells.
    s = np.sort(r)
    edges = []
    for j in range(1, 10):
        e = s[j * len(s) // 10]
        if e > s[0] and (not edges or e > edges[-1]):
            edges.append(e)
    rb = np.bincount(np.searchsorted(edges, r, side="right"), minlength=len(edges) + 1) / len(r)
    cb = np.bincount(np.searchsorted(edges, c, side="right"), minlength=len(edges) + 1) / len(c)
    def fill(p):
        p = p.copy()
        nz = p[p > 0]
        eps = 0.0001 if nz.min() > 0.0001 else nz.min() / 1e6
        p[p == 0] = eps
        return p
    psi = np.sum((fill(rb) - fill(cb)) * np.log(fill(rb) / fill(cb)))
    print(f"{name}: psi={psi!r} jensen_shannon={jensenshannon(rb, cb)!r}")

# plan: chi-square of the current counts against the reference shares, the
# unseen category getting the PSI epsilon as expected share (stats.MetricChi2);
# Jensen–Shannon over the categories of both sides.
cats = ["basic", "pro", "team", "enterprise"]
rc = np.array([np.sum(ref["plan"] == k) for k in cats], dtype=float)
cc = np.array([np.sum(cur["plan"] == k) for k in cats], dtype=float)
rs = rc / rc.sum()
print(f"plan: ref counts={rc} cur counts={cc}")
print(f"plan: jensen_shannon={jensenshannon(rs, cc / cc.sum())!r} unseen_share={cc[3] / cc.sum()!r}")
