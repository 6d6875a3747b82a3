#!/usr/bin/env python3
"""Write the drift-statistics test vectors for services/stats.

Each vector is a reference and a current sample with the values numpy and
scipy give for them. The Go tests in services/stats build a profile from the
reference with reference.FromColumns, sketch the current sample, and check
every statistic against these values within the error its doc comment
states. A second and third table pin the special functions the p-values
rest on (scipy's kstwo.sf and chi2.sf) over all their branches.

Statistics on raw data come straight from scipy: ks_2samp(method="asymp"),
wasserstein_distance, np.std. Statistics defined on bins (PSI, Jensen-Shannon,
chi-square) are computed here on the same bins the Go code uses, which this
script rebuilds by the rules services/reference documents; the Go tests also
check that the edges agree, so a change to either side shows up.

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
import scipy
from scipy import stats
from scipy.spatial import distance

OUT = pathlib.Path(__file__).resolve().parents[2] / "services" / "stats" / "testdata" / "drift_vectors.json"

BINS = 10  # services/reference.Bins
QUANTILES = 100  # services/reference.Quantiles
SMALL_REFERENCE = 1000  # services/stats.SmallReference
LOW_CARDINALITY = 5


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
    if len(distinct) <= QUANTILES:
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


def default_test(kind, ref_rows, unique):
    many = kind == "numeric" and unique > LOW_CARDINALITY
    if ref_rows <= SMALL_REFERENCE:
        return ("ks_statistic", 0.05) if many else ("chi2", 0.05)
    return ("wasserstein_normed", 0.1) if many else ("jensen_shannon", 0.1)


def detected(metric, threshold, values):
    if metric in ("ks_statistic", "chi2"):
        return values[metric]["pvalue"] < threshold
    return values[metric] >= threshold


# --- vectors -----------------------------------------------------------------

def with_missing(rng, x, k):
    x = np.asarray(x, dtype=float).copy()
    x[rng.choice(len(x), size=k, replace=False)] = np.nan
    return x


def numeric_vector(name, ref, cur, note, exact_ks=False, exact_wasserstein=False):
    ref_all, cur_all = np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)
    r = np.sort(ref_all[~np.isnan(ref_all)])
    c = cur_all[~np.isnan(cur_all)]
    r[r == 0] = 0.0
    distinct = np.unique(r)
    be, qe = bin_edges(r, distinct), quantile_edges(r, distinct)
    n, m = len(r), len(c)
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
        "ks_statistic": {"statistic": float(ks.statistic), "pvalue": float(ks.pvalue)},
        "wasserstein": w,
        "wasserstein_normed": w / max(std, 0.001),
        "chi2": chisquare(cc, rp),
    }
    metric, threshold = default_test("numeric", n, len(distinct))
    return {
        "name": name,
        "note": note,
        "kind": "numeric",
        "reference": [None if math.isnan(x) else float(x) for x in ref_all],
        "current": [None if math.isnan(x) else float(x) for x in cur_all],
        "exact_ks": exact_ks,
        "exact_wasserstein": exact_wasserstein,
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
            "missing_share": float(np.isnan(cur_all).sum() / len(cur_all)),
            "default_test": metric,
            "detected": bool(detected(metric, threshold, values)),
        },
    }


def categorical_vector(name, ref, cur, note):
    r = [x for x in ref if x is not None]
    c = [x for x in cur if x is not None]
    rk, ck = sorted(set(r)), sorted(set(c) - set(r))
    cells = rk + ck
    rc = np.array([r.count(k) for k in cells], dtype=np.int64)
    cc = np.array([c.count(k) for k in cells], dtype=np.int64)
    n, m = len(r), len(c)
    rp, cp = rc / n, cc / m
    values = {
        "psi": psi(rp, cp),
        "jensen_shannon": float(distance.jensenshannon(rp, cp)),
        "chi2": chisquare(cc, rp),
    }
    metric, threshold = default_test("categorical", n, len(rk))
    return {
        "name": name,
        "note": note,
        "kind": "categorical",
        "reference": list(ref),
        "current": list(cur),
        "expected": {
            "cells": cells,
            "ref_cell_counts": rc.tolist(),
            "cur_cell_counts": cc.tolist(),
            "count": n,
            **values,
            "unseen_share": float(sum(cc[len(rk):]) / m),
            "missing_share": float((len(cur) - m) / len(cur)),
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
        "0/1 feature: chi-square decides (Evidently's Z-test), detects",
        exact_ks=True, exact_wasserstein=True,
    ))
    out.append(numeric_vector(
        "constant",
        with_missing(rng, np.full(63, 5.0), 3),
        np.array([5.0] * 45 + [6.0] * 15),
        "constant reference, current partly elsewhere: chi-square detects through the range cell",
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
        "vectors": vectors(),
        "kstwo_sf": kstwo_table(),
        "chi2_sf": chi2_table(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
