#!/usr/bin/env python3
"""Write the drift-statistics test vectors for services/stats.

Each vector is a reference and a current sample with the values numpy and
scipy give for them. The Go tests in services/stats build a profile from the
reference with reference.FromColumns, sketch the current sample, and check
every statistic against these values within the error its doc comment
states. A second and third table pin the special functions the p-values
rest on (scipy's kstwo.sf and chi2.sf) over all their branches.

Statistics on raw data come straight from scipy and numpy:
ks_2samp(method="asymp"), wasserstein_distance, np.std, np.percentile (the
quantile sketch's p50/p95/p99 are checked against the "lower" and "higher"
percentiles within its 1%). Statistics defined on bins (PSI, Jensen-Shannon,
Hellinger, KL as scipy.stats.entropy, chi-square) are computed here on the
same bins the Go code uses, which this script rebuilds by the rules
services/reference documents; the Go tests also check that the edges agree,
so a change to either side shows up. For categorical samples, Hellinger and
KL are also computed by Evidently's own functions and must agree; the
Z-test p-value is Evidently's (its proportions_diff_z_test on its pooled
two-proportion statistic, and its _z_stat_test wherever Evidently itself
would pick the Z-test). Quality metrics (missing and type-mismatch share,
out-of-range share, constant) are counted here directly.

Run from the repository root:

    python3 -m venv "${XDG_CACHE_HOME:-$HOME/.cache}/driftline/venv"
    "${XDG_CACHE_HOME:-$HOME/.cache}/driftline/venv/bin/pip" install -r tools/requirements.txt
    "${XDG_CACHE_HOME:-$HOME/.cache}/driftline/venv/bin/python" tools/testvectors/drift_vectors.py

It writes services/stats/testdata/drift_vectors.json; the output depends only
on the seeds below and the pinned numpy and scipy.
"""

import json
import math
import pathlib
import sys

import numpy as np
import pandas as pd
import scipy
from scipy import stats
from scipy.spatial import distance

# Evidently's own implementations, where they work on the same cells as the
# Go code (categories; the Z-test on raw values).
from evidently.legacy.calculations.stattests.hellinger_distance import _hellinger_distance
from evidently.legacy.calculations.stattests.kl_div import _kl_div
from evidently.legacy.calculations.stattests.z_stattest import (
    _z_stat_test,
    proportions_diff_z_stat_ind,
    proportions_diff_z_test,
)
from evidently.legacy.core import ColumnType
import evidently

OUT = pathlib.Path(__file__).resolve().parents[2] / "services" / "stats" / "testdata" / "drift_vectors.json"

BINS = 10  # services/reference.Bins
QUANTILES = 100  # services/reference.Quantiles
EXACT_ROWS = 1000  # services/reference.ExactRows
SMALL_REFERENCE = 1000  # services/stats.SmallReference
LOW_CARDINALITY = 5
QUANTILE_LEVELS = [0.5, 0.95, 0.99]  # services/stats.QuantileLevels


# --- the profile's edges, as services/reference builds them -----------------

def bin_edges(v, distinct):
    if len(distinct) <= BINS:
        return [float(x) for x in distinct[1:]]
    n, edges = len(v), []
    for j in range(1, BINS):
        e = v[j * n // BINS]
        if e > v[0] and (not edges or e > edges[-1]):
            edges.append(float(e))
    return edges


def quantile_edges(v, distinct):
    n = len(v)
    if len(distinct) <= QUANTILES or n <= EXACT_ROWS:
        edges = [float(x) for x in distinct]
    else:
        edges = [float(v[0])]
        for j in range(1, QUANTILES):
            e = v[j * n // QUANTILES]
            if e > edges[-1]:
                edges.append(float(e))
    up = float(np.nextafter(v[-1], np.inf))
    if math.isfinite(up) and up > edges[-1]:
        edges.append(up)
    return edges


def counts(values, edges):
    # bin i holds [edges[i-1], edges[i]): the number of edges <= x
    idx = np.searchsorted(np.asarray(edges, dtype=float), values, side="right")
    return np.bincount(idx, minlength=len(edges) + 1).astype(np.int64)


# --- statistics on shares, as Evidently computes them -----------------------

def fill_zeros(p):
    p = p.copy()
    least = p[p != 0].min()
    p[p == 0] = least / 10**6 if least <= 0.0001 else 0.0001
    return p


def psi(ref_pct, cur_pct):
    r, c = fill_zeros(ref_pct), fill_zeros(cur_pct)
    return float(np.sum((r - c) * np.log(r / c)))


def chisquare(cur_counts, ref_pct):
    # Evidently's chisquare test; a cell the reference lacks gets the PSI
    # epsilon as its share (scipy would return inf), renormalised to 1.
    q = fill_zeros(ref_pct)
    q = q / q.sum()
    res = stats.chisquare(cur_counts, q * cur_counts.sum())
    return {"statistic": float(res.statistic), "pvalue": float(res.pvalue)}


def hellinger(ref_pct, cur_pct):
    # Evidently's categorical formula: no epsilon, coefficient clipped to [0, 1]
    bc = float(np.sum(np.sqrt(ref_pct * cur_pct)))
    return math.sqrt(1 - min(max(bc, 0.0), 1.0))


def kl_divergence(ref_pct, cur_pct):
    # Evidently's kl_div: zeros filled as for PSI, then scipy.stats.entropy
    # (which normalises both to sum 1)
    return float(stats.entropy(fill_zeros(ref_pct), fill_zeros(cur_pct)))


def z_test(ref_values, cur_values):
    """Evidently's Z-test with the reference's smallest value as the first
    value (the Go rule). When both samples hold at most two values together,
    Evidently's own _z_stat_test picks the same first value; the result is
    then taken from it, and checked against the formula."""
    ref, cur = pd.Series(ref_values), pd.Series(cur_values)
    first = min(ref_values)
    p_ours = 1.0
    z = 0.0
    if not (ref.nunique() == 1 and cur.nunique() == 1 and ref.iloc[0] == cur.iloc[0]):
        z = float(proportions_diff_z_stat_ind(ref.apply(lambda x: 0 if x == first else 1),
                                              cur.apply(lambda x: 0 if x == first else 1)))
        p_ours = float(proportions_diff_z_test(z))
    if len(set(ref_values) | set(cur_values)) <= 2:
        p_ev = float(_z_stat_test(ref.copy(), cur.copy(), ColumnType.Categorical, 0.05)[0])
        assert p_ev == p_ours, (p_ev, p_ours)
    # Evidently's 2·(1 − Φ(|z|)) rounds to 0 beyond |z| ≈ 8.3; the exact
    # tail is kept beside it for the Go code's erfc.
    return {"statistic": z, "pvalue": p_ours, "pvalue_exact": float(2 * stats.norm.sf(abs(z)))}


def quantiles(c):
    # numpy's percentiles of the current sample; DDSketch's rank is
    # q·(n−1), so its value lies within its relative accuracy of a sample
    # value between the "lower" and "higher" ones.
    out = {}
    for q in QUANTILE_LEVELS:
        out[str(q)] = {
            "lower": float(np.percentile(c, 100 * q, method="lower")),
            "linear": float(np.percentile(c, 100 * q)),
            "higher": float(np.percentile(c, 100 * q, method="higher")),
        }
    return out


def default_test(kind, ref_rows, unique):
    many = kind == "numeric" and unique > LOW_CARDINALITY
    if ref_rows <= SMALL_REFERENCE:
        if many:
            return "ks_statistic", 0.05
        return ("z_test", 0.05) if unique <= 2 else ("chi2", 0.05)
    return ("wasserstein_normed", 0.1) if many else ("jensen_shannon", 0.1)


def detected(metric, threshold, values):
    if metric in ("ks_statistic", "chi2", "z_test"):
        return values[metric]["pvalue"] < threshold
    return values[metric] >= threshold


# --- vectors -----------------------------------------------------------------

def with_missing(rng, x, k):
    x = np.asarray(x, dtype=float).copy()
    x[rng.choice(len(x), size=k, replace=False)] = np.nan
    return x


def numeric_vector(name, ref, cur, note, exact_ks=False, exact_wasserstein=False):
    # Strings in the current sample are values of the wrong type: they
    # count as type mismatches, not as values.
    cur = [math.nan if x is None else x for x in cur]
    strings = sum(isinstance(x, str) for x in cur)
    ref_all = np.asarray(ref, dtype=float)
    cur_num = np.asarray([x for x in cur if not isinstance(x, str)], dtype=float)
    r = np.sort(ref_all[~np.isnan(ref_all)])
    c = cur_num[~np.isnan(cur_num)]
    r[r == 0] = 0.0
    distinct = np.unique(r)
    be, qe = bin_edges(r, distinct), quantile_edges(r, distinct)
    n, m = len(r), len(c)
    quality = {
        "missing_share": float(np.isnan(cur_num).sum() / len(cur)),
        "type_mismatch_share": strings / len(cur),
        "type_mismatches": strings,
    }
    base = {
        "name": name,
        "note": note,
        "kind": "numeric",
        "reference": [None if math.isnan(x) else float(x) for x in ref_all],
        "current": [x if isinstance(x, str) else (None if math.isnan(x) else float(x)) for x in cur],
        "exact_ks": exact_ks,
        "exact_wasserstein": exact_wasserstein,
    }
    if m == 0:
        return {**base, "no_values": True, "expected": {"count": n, **quality}}
    rq, cq = counts(r, qe), counts(c, qe)

    if len(be) + 1 == len(distinct):
        # one PSI bin per value: values are like categories, and the cells
        # below and above the reference's range count too
        cell_edges = [qe[0]] + be + [qe[-1]]
    else:
        cell_edges = be
    rc, cc = counts(r, cell_edges), counts(c, cell_edges)
    keep = (rc > 0) | (cc > 0)
    rc, cc = rc[keep], cc[keep]
    rp, cp = rc / n, cc / m

    d_binned = float(np.max(np.abs(np.cumsum(rq)[:-1] / n - np.cumsum(cq)[:-1] / m)))
    ks = stats.ks_2samp(r, c, method="asymp")
    w = float(stats.wasserstein_distance(r, c))
    std = float(np.std(r))
    values = {
        "psi": psi(rp, cp),
        "jensen_shannon": float(distance.jensenshannon(rp, cp)),
        "hellinger": hellinger(rp, cp),
        "kl_divergence": kl_divergence(rp, cp),
        "ks_statistic": {"statistic": float(ks.statistic), "pvalue": float(ks.pvalue)},
        "wasserstein": w,
        "wasserstein_normed": w / max(std, 0.001),
        "chi2": chisquare(cc, rp),
    }
    if len(distinct) <= 2:
        values["z_test"] = z_test(list(r), list(c))
    metric, threshold = default_test("numeric", n, len(distinct))
    return {
        **base,
        "expected": {
            "bin_edges": be,
            "quantile_edges": qe,
            "ref_quantile_counts": rq.tolist(),
            "cur_quantile_counts": cq.tolist(),
            "ref_cell_counts": rc.tolist(),
            "cur_cell_counts": cc.tolist(),
            "count": n,
            "unique": int(len(distinct)),
            "mean": float(np.mean(r)),
            "std": std,
            "ks_binned_statistic": d_binned,
            **values,
            **quality,
            "out_of_range_share": float(np.mean((c < r[0]) | (c > r[-1]))),
            "constant": 1 if m >= 2 and len(np.unique(c)) == 1 else 0,
            "quantiles": quantiles(c),
            "default_test": metric,
            "detected": bool(detected(metric, threshold, values)),
        },
    }


def categorical_vector(name, ref, cur, note):
    r = [x for x in ref if x is not None]
    c = [x for x in cur if x is not None]
    quality = {
        "missing_share": float((len(cur) - len(c)) / len(cur)),
        "type_mismatch_share": 0.0,
        "type_mismatches": 0,
    }
    base = {"name": name, "note": note, "kind": "categorical", "reference": list(ref), "current": list(cur)}
    if not c:
        return {**base, "no_values": True, "expected": {"count": len(r), **quality}}
    rk, ck = sorted(set(r)), sorted(set(c) - set(r))
    cells = rk + ck
    rc = np.array([r.count(k) for k in cells], dtype=np.int64)
    cc = np.array([c.count(k) for k in cells], dtype=np.int64)
    n, m = len(r), len(c)
    rp, cp = rc / n, cc / m
    values = {
        "psi": psi(rp, cp),
        "jensen_shannon": float(distance.jensenshannon(rp, cp)),
        "hellinger": hellinger(rp, cp),
        "kl_divergence": kl_divergence(rp, cp),
        "chi2": chisquare(cc, rp),
    }
    # Evidently's own functions on the raw values agree on these cells.
    rs, cs = pd.Series(r), pd.Series(c)
    h_ev = float(_hellinger_distance(rs.copy(), cs.copy(), ColumnType.Categorical, 0.1)[0])
    kl_ev = float(_kl_div(rs.copy(), cs.copy(), ColumnType.Categorical, 0.1)[0])
    assert abs(h_ev - values["hellinger"]) <= 1e-12, (h_ev, values["hellinger"])
    assert abs(kl_ev - values["kl_divergence"]) <= 1e-12 * max(1, kl_ev), (kl_ev, values["kl_divergence"])
    if len(rk) <= 2:
        values["z_test"] = z_test(r, c)
    metric, threshold = default_test("categorical", n, len(rk))
    return {
        **base,
        "expected": {
            "cells": cells,
            "ref_cell_counts": rc.tolist(),
            "cur_cell_counts": cc.tolist(),
            "count": n,
            **values,
            **quality,
            "unseen_share": float(sum(cc[len(rk):]) / m),
            "constant": 1 if m >= 2 and len(set(c)) == 1 else 0,
            "default_test": metric,
            "detected": bool(detected(metric, threshold, values)),
        },
    }


def vectors():
    rng = np.random.default_rng(20240611)
    r3 = lambda x: np.round(x, 3)
    out = [
        numeric_vector(
            "small_same",
            with_missing(rng, r3(rng.normal(0, 1, 300)), 6),
            with_missing(rng, r3(rng.normal(0, 1, 200)), 5),
            "small samples of one distribution: KS decides, no drift",
        ),
        numeric_vector(
            "small_shift",
            r3(rng.normal(0, 1, 400)),
            r3(rng.normal(0.6, 1, 250)),
            "small samples, mean shifted by 0.6 sd: KS detects",
        ),
        numeric_vector(
            "large_shift",
            r3(rng.normal(10, 2, 6000)),
            r3(rng.normal(10.8, 2.4, 4000)),
            "large reference, shifted and wider current: normed Wasserstein detects",
        ),
        numeric_vector(
            "large_same_skewed",
            r3(rng.lognormal(0, 0.75, 3000)),
            r3(rng.lognormal(0, 0.75, 2000)),
            "large skewed samples of one distribution: no drift",
        ),
    ]
    ref = rng.poisson(4, 700).astype(float)
    cur = np.clip(rng.poisson(4.8, 500), ref.min(), ref.max()).astype(float)
    out.append(numeric_vector(
        "ties_poisson", ref, cur,
        "integer data with many ties, current inside the reference's values: KS and W1 exact",
        exact_ks=True, exact_wasserstein=True,
    ))
    out.append(numeric_vector(
        "binary", rng.binomial(1, 0.3, 800).astype(float), rng.binomial(1, 0.4, 300).astype(float),
        "0/1 feature, share of ones 0.3 against 0.4: Evidently's Z-test decides (p about 0.08 here)",
        exact_ks=True, exact_wasserstein=True,
    ))
    out.append(numeric_vector(
        "constant",
        with_missing(rng, np.full(63, 5.0), 3),
        np.array([5.0] * 45 + [6.0] * 15),
        "constant reference, current partly elsewhere: the Z-test detects",
        exact_ks=True, exact_wasserstein=True,
    ))

    cats = np.array(["a", "b", "c", "d"])
    ref = list(rng.choice(cats, 900, p=[0.4, 0.3, 0.2, 0.1]))
    cur = list(rng.choice(cats, 600, p=[0.4, 0.3, 0.2, 0.1]))
    for i in rng.choice(len(ref), 20, replace=False):
        ref[i] = None
    out.append(categorical_vector(
        "categorical_same", ref, cur, "small reference, same shares: chi-square decides; it takes the "
        "reference shares as exact, so sampling noise of both sides flags about one such window in five, "
        "and this one"))

    cats = np.array(["north", "south", "east", "west", "centre"])
    ref = list(rng.choice(cats, 2500, p=[0.3, 0.25, 0.2, 0.15, 0.1]))
    cur = list(rng.choice(np.append(cats, ["islands", "abroad"]), 1500,
                          p=[0.15, 0.2, 0.2, 0.15, 0.1, 0.12, 0.08]))
    for i in rng.choice(len(cur), 30, replace=False):
        cur[i] = None
    out.append(categorical_vector(
        "categorical_unseen", ref, cur,
        "large reference, two categories it never saw: Jensen-Shannon detects"))
    # Samples the first version did not cover: type mismatches, single-row
    # and constant windows, binary categories, all-missing columns.
    cur = list(r3(rng.normal(0.1, 1.1, 150)))
    for i in rng.choice(len(cur), 6, replace=False):
        cur[i] = "n/a"
    out.append(numeric_vector(
        "small_with_strings", r3(rng.normal(0, 1, 250)), cur,
        "small samples, a few strings in the numeric current (type mismatches)"))
    out.append(numeric_vector(
        "single_row", r3(rng.normal(0, 1, 500)), [0.25],
        "a window of one value: every statistic defined, KS decides"))
    out.append(numeric_vector(
        "single_row_large", r3(rng.normal(0, 1, 2000)), [3.5],
        "one value beyond the range of a large reference"))
    out.append(numeric_vector(
        "stuck_window", r3(rng.normal(50, 5, 900)), [42.0] * 80,
        "a constant window against a varied reference: constant column, KS detects"))
    out.append(numeric_vector(
        "wide_range", r3(rng.lognormal(2, 2.5, 3000)) - 50, r3(rng.lognormal(2.2, 2.5, 2500)) - 50,
        "large heavy-tailed samples spanning negative and positive values: quantiles over both signs"))
    out.append(numeric_vector(
        "all_missing_current", r3(rng.normal(0, 1, 100)), [None] * 12,
        "no values in the window: quality metrics only"))
    out.append(categorical_vector(
        "binary_small", list(rng.choice(["no", "yes"], 600, p=[0.75, 0.25])), list(rng.choice(["no", "yes"], 300, p=[0.55, 0.45])),
        "binary category, small reference: Z-test decides, detects"))
    out.append(categorical_vector(
        "binary_small_same", list(rng.choice(["no", "yes"], 400, p=[0.8, 0.2])), list(rng.choice(["no", "yes"], 350, p=[0.8, 0.2])),
        "binary category, same shares: Z-test, no drift"))
    out.append(categorical_vector(
        "binary_large_unseen", list(rng.choice(["f", "m"], 3000, p=[0.5, 0.5])),
        list(rng.choice(["f", "m", "x"], 800, p=[0.45, 0.45, 0.1])),
        "binary category, large reference, a third value in the window: Jensen-Shannon decides, Z reported"))
    out.append(categorical_vector(
        "categorical_single_row", list(rng.choice(["a", "b", "c"], 500)), ["b"],
        "a window of one category"))
    out.append(categorical_vector(
        "categorical_stuck", list(rng.choice(["a", "b", "c"], 500)), ["c"] * 40 + [None] * 4,
        "a window stuck at one category: constant column"))
    out.append(categorical_vector(
        "categorical_all_missing", list(rng.choice(["a", "b"], 50)), [None] * 7,
        "no values in the window: quality metrics only"))
    for v in out:  # numpy strings to str
        v["reference"] = [None if x is None else (str(x) if isinstance(x, np.str_) else x) for x in v["reference"]]
        v["current"] = [None if x is None else (str(x) if isinstance(x, np.str_) else x) for x in v["current"]]
    return out


def kstwo_table():
    rows = []
    ns = [1, 2, 3, 5, 10, 20, 50, 100, 140, 141, 200, 500, 1000, 5000, 20000, 100000, 100001, 300000, 2000000]
    zs = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.87, 0.95, 1.0, 1.1, 1.2, 1.3, 1.36, 1.45, 1.6, 1.8, 2.0, 2.4, 3.0, 4.0, 6.0]
    for n in ns:
        ds = {0.3 / n, 0.5 / n, 0.75 / n, 1.0 / n, 1.5 / n, 0.45, 0.5, 0.6, 0.9, 0.999}
        ds |= {z / math.sqrt(n) for z in zs}
        if n > 1:
            ds.add(1 - 1 / n + 1e-9)
        for d in sorted(ds):
            if 0 < d < 1:
                rows.append([n, d, float(stats.kstwo.sf(d, n))])
    return rows


def chi2_table():
    rows = []
    for df in [1, 2, 3, 4, 5, 10, 30, 100, 500, 2000]:
        xs = {0.0}
        xs |= {float(stats.chi2.isf(q, df)) for q in [1 - 1e-9, 0.99, 0.7, 0.5, 0.1, 0.05, 0.001, 1e-9, 1e-30, 1e-100]}
        for x in sorted(xs):
            rows.append([df, x, float(stats.chi2.sf(x, df))])
    return rows


def main():
    doc = {
        "generator": "tools/testvectors/drift_vectors.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "evidently": evidently.__version__,
        "vectors": vectors(),
        "kstwo_sf": kstwo_table(),
        "chi2_sf": chi2_table(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
