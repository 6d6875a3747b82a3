#!/usr/bin/env python3
"""Compare `driftline drift` with Evidently's DataDriftPreset, column by column.

It generates a fixed set of reference/current CSV pairs (numpy seed below,
so every run writes the same files), runs each pair through Evidently 0.7.23
(DataDriftPreset, the column kinds given by a DataDefinition) and through
`bin/driftline drift --format json` (the same kinds through --categorical),
and compares, per column, the test each picked, its score and its verdict.

The result replaces the part of docs/evidently.md between the
`<!-- compare:begin -->` and `<!-- compare:end -->` markers (the prose
around it, which explains every disagreement, is written by hand), and
tools/evidently/testdata/comparison.json keeps the raw numbers.

Every disagreement must be expected: EXPECTED below names each
(dataset, column) where the two tools may differ and the section of
docs/evidently.md explaining why. The script exits 1 when a disagreement
is not in EXPECTED, or when an expected one no longer happens (the
explanation is then stale), so `make compare-evidently` fails loudly.

Run from the repository root with the venv's Python (`make compare-evidently`):

    ~/.cache/driftline/venv/bin/python tools/evidently/compare.py [--driftline bin/driftline] [--keep DIR]
"""

import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "evidently.md"
RESULTS = ROOT / "tools" / "evidently" / "testdata" / "comparison.json"
SEED = 20261123

# Evidently's ValueDrift names its method by display name.
EVIDENTLY_TESTS = {
    "K-S p_value": "ks",
    "chi-square p_value": "chi2",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein_normed",
    "Jensen-Shannon distance": "jensen_shannon",
}
P_VALUE_TESTS = {"ks", "chi2", "z"}

# (dataset, column) -> (what differs, section of docs/evidently.md).
# "test" means the two tools pick different tests, "verdict" different
# verdicts, "score" the same test and verdict with scores further apart
# than close() allows, "evidently-error" that Evidently fails on the column.
EXPECTED = {
    # Evidently counts distinct values in both samples, driftline in the
    # reference alone.
    ("small", "num_few_new_value"): ("test", "distinct-values"),
    ("large", "num_few_new_value"): ("test", "distinct-values"),
    # KS scores of a sparse reference.
    ("sparse_reference", "sparse"): ("score", "ks-edges"),
    # Wasserstein from bins: current mass in wide outer bins.
    ("large", "num_scale"): ("score", "wasserstein-tails"),
    ("large", "heavy_tails"): ("score", "wasserstein-tails"),
    ("empty_current", "all_missing"): ("evidently-error", "empty-column"),
}


# --- datasets ------------------------------------------------------------------

def columns(rng, n, current):
    """One column per case. current=True draws the current sample, which
    differs from the reference only in the *_shift (and named) columns."""
    c = {}
    normal = lambda mu=10.0, sd=2.0: rng.normal(mu, sd, n)
    c["num_same"] = normal()
    c["num_shift"] = normal(11.0 if current else 10.0)  # 0.5 sd
    c["num_small_shift"] = normal(10.1 if current else 10.0)  # 0.05 sd
    c["num_near_threshold"] = normal(10.24 if current else 10.0)  # 0.12 sd
    c["num_scale"] = rng.lognormal(0.0, 0.8 if current else 0.5, n)
    # Heavy tails: Student's t with 1.5 degrees of freedom (infinite variance).
    c["heavy_tails"] = rng.standard_t(1.5, n) * 3 + 50
    outl = rng.normal(0, 1, n)
    if current:
        outl[rng.random(n) < 0.01] = 1000.0  # 1% far outliers
    c["outliers"] = outl
    miss = normal()
    miss[rng.random(n) < (0.3 if current else 0.05)] = np.nan
    c["num_missing"] = miss
    c["constant"] = np.full(n, 7.0)
    # Numeric with few values: integers, as a count or a rating would be.
    few = lambda p: rng.choice(np.arange(1, len(p) + 1), n, p=p)
    c["num_few"] = few([0.4, 0.3, 0.2, 0.1])
    c["num_few_shift"] = few([0.25, 0.25, 0.25, 0.25] if current else [0.4, 0.3, 0.2, 0.1])
    # Five values in the reference, a sixth in the current sample.
    c["num_few_new_value"] = few([0.2, 0.2, 0.2, 0.2, 0.1, 0.1] if current else [0.2] * 5)
    c["binary_num"] = (rng.random(n) < 0.3).astype(int)
    c["binary_num_shift"] = (rng.random(n) < (0.4 if current else 0.3)).astype(int)
    cat = lambda vals, p: rng.choice(np.array(vals, dtype=object), n, p=p)
    c["cat3"] = cat(["a", "b", "c"], [0.5, 0.3, 0.2])
    c["cat3_shift"] = cat(["a", "b", "c"], [0.3, 0.3, 0.4] if current else [0.5, 0.3, 0.2])
    c["cat_binary"] = cat(["yes", "no"], [0.7, 0.3])
    c["cat_binary_shift"] = cat(["yes", "no"], [0.55, 0.45] if current else [0.7, 0.3])
    # Binary in the reference, a third category in the current sample.
    c["cat_binary_new"] = (cat(["yes", "no", "maybe"], [0.65, 0.3, 0.05]) if current
                           else cat(["yes", "no"], [0.7, 0.3]))
    c["cat_unseen"] = (cat(["a", "b", "c", "d"], [0.47, 0.29, 0.19, 0.05]) if current
                       else cat(["a", "b", "c"], [0.5, 0.3, 0.2]))
    zipf = 1.0 / np.arange(1, 41)
    c["cat_many"] = cat([f"k{i:02d}" for i in range(40)], zipf / zipf.sum())
    cmiss = cat(["a", "b", "c"], [0.5, 0.3, 0.2])
    cmiss[rng.random(n) < (0.25 if current else 0.02)] = None
    c["cat_missing"] = cmiss
    # Integer-coded categories (e.g. a region code), compared as categories.
    c["int_codes"] = rng.choice(np.array([3, 17, 42, 101, 205, 999]), n,
                                p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1] if current else [0.2] * 5 + [0.0])
    return pd.DataFrame(c)


CATEGORICAL = ["cat3", "cat3_shift", "cat_binary", "cat_binary_shift", "cat_binary_new", "cat_unseen",
               "cat_many", "cat_missing", "int_codes"]


def datasets():
    """Yield (name, reference, current, categorical columns)."""
    rng = np.random.default_rng(SEED)
    for name, n_ref, n_cur in [("small", 800, 600), ("large", 20_000, 10_000)]:
        yield name, columns(rng, n_ref, False), columns(rng, n_cur, True), CATEGORICAL
    # The small-reference rule's boundary: ≤ 1000 non-missing reference
    # values is small, in both tools.
    for n_ref in (1000, 1001):
        ref = pd.DataFrame({"x": rng.normal(0, 1, n_ref),
                            "c": rng.choice(np.array(["a", "b", "c"], dtype=object), n_ref)})
        cur = pd.DataFrame({"x": rng.normal(0.2, 1, 700),
                            "c": rng.choice(np.array(["a", "b", "c"], dtype=object), 700)})
        yield f"ref{n_ref}", ref, cur, ["c"]
    # 5000 rows, but only ~600 non-missing: the test is picked on those.
    ref = pd.DataFrame({"sparse": rng.normal(0, 1, 5000)})
    ref.loc[rng.random(5000) < 0.88, "sparse"] = np.nan
    cur = pd.DataFrame({"sparse": rng.normal(0, 1, 3000)})
    yield "sparse_reference", ref, cur, []
    # A column with no values in the current file.
    ref = pd.DataFrame({"x": rng.normal(0, 1, 500), "all_missing": rng.normal(0, 1, 500)})
    cur = pd.DataFrame({"x": rng.normal(0, 1, 400), "all_missing": np.full(400, np.nan)})
    yield "empty_current", ref, cur, []


# --- the two tools ---------------------------------------------------------------

def read_csv(path, categorical):
    # As a user would read the files; categorical columns stay strings so
    # that integer codes compare as the same categories driftline sees.
    return pd.read_csv(path, dtype={c: str for c in categorical})


def run_evidently(ref_path, cur_path, categorical):
    """Return {column: {"test", "score", "threshold", "drift"} or {"error"}}."""
    ref, cur = read_csv(ref_path, categorical), read_csv(cur_path, categorical)
    numerical = [c for c in ref.columns if c not in categorical]
    out = {}
    cols = list(ref.columns)
    # Evidently raises for a column with no values on one side, which
    # aborts the whole report, so such columns run alone.
    empty = [c for c in cols if ref[c].isna().all() or cur[c].isna().all()]
    for c in empty:
        try:
            out.update(_parse(_evidently_report(ref[[c]], cur[[c]], [c] if c in numerical else [],
                                                [c] if c in categorical else [])))
        except Exception as e:  # noqa: BLE001 - we record what Evidently says
            out[c] = {"error": f"{type(e).__name__}: {e}"}
    rest = [c for c in cols if c not in empty]
    out.update(_parse(_evidently_report(ref[rest], cur[rest], [c for c in rest if c in numerical],
                                        [c for c in rest if c in categorical])))
    return out


def _parse(d):
    """Each column's test, score and verdict from a DataDriftPreset's dict."""
    out, dataset = {}, None
    for m in d["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            dataset = m["value"]
            continue
        test = EVIDENTLY_TESTS[cfg["method"]]
        score, th = float(m["value"]), float(cfg["threshold"])
        if test == "ks":
            drift = score <= th  # Evidently's KS drifts at p <= threshold
        elif test in P_VALUE_TESTS:
            drift = score < th
        else:
            drift = score >= th
        out[cfg["column"]] = {"test": test, "score": score, "threshold": th, "drift": bool(drift)}
    # The verdict rule must reproduce Evidently's own count.
    got = sum(1 for r in out.values() if r["drift"])
    if dataset is None or int(dataset["count"]) != got:
        raise SystemExit(f"verdict rule disagrees with Evidently's DriftedColumnsCount: {got} vs {dataset}")
    return out


# The statistics besides the default tests: Evidently's method name and
# driftline's metric key.
OTHER_METRICS = [("psi", "psi"), ("jensenshannon", "jensen_shannon"),
                 ("hellinger", "hellinger"), ("kl_div", "kl_divergence")]
# The columns they are compared on, per dataset: continuous columns, where
# the binning differs, and a few with value cells, where it does not.
OTHER_COLUMNS = {
    "large": ["num_same", "num_shift", "num_scale", "heavy_tails", "outliers",
              "num_few_shift", "cat3_shift", "cat_unseen"],
    "small": ["num_shift", "num_scale", "cat3_shift"],
}


def run_evidently_methods(ref_path, cur_path, categorical, columns):
    """Return {(column, method): value} with each of OTHER_METRICS forced."""
    ref, cur = read_csv(ref_path, categorical)[columns], read_csv(cur_path, categorical)[columns]
    numerical = [c for c in columns if c not in categorical]
    cats = [c for c in columns if c in categorical]
    out = {}
    for method, _ in OTHER_METRICS:
        dd = DataDefinition(numerical_columns=numerical, categorical_columns=cats)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            snap = Report([DataDriftPreset(method=method)]).run(
                current_data=Dataset.from_pandas(cur, data_definition=dd),
                reference_data=Dataset.from_pandas(ref, data_definition=dd))
        for m in snap.dict()["metrics"]:
            if m["config"]["type"].endswith("ValueDrift"):
                out[(m["config"]["column"], method)] = float(m["value"])
    return out


def other_rows(name, ev, dl):
    rows = []
    for (col, method), value in ev.items():
        key = dict(OTHER_METRICS)[method]
        rows.append({"dataset": name, "column": col, "metric": key, "evidently": value,
                     "driftline": dl[col]["metrics"].get(key)})
    return rows


def other_markdown(rows):
    lines = ["| dataset | column | statistic | Evidently | driftline | driftline ÷ Evidently |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        e, d = r["evidently"], r["driftline"]
        ratio = "–" if d is None or e == 0 else f"{d / e:.2f}"
        lines.append(f"| {r['dataset']} | `{r['column']}` | {r['metric']} | {fmt(e)} | {fmt(d)} | {ratio} |")
    return "\n".join(lines)


def _evidently_report(ref, cur, numerical, categorical):
    dd = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    with warnings.catch_warnings():
        # scipy warns when chi-square divides by a zero expected count.
        warnings.simplefilter("ignore")
        snap = Report([DataDriftPreset()]).run(
            current_data=Dataset.from_pandas(cur, data_definition=dd),
            reference_data=Dataset.from_pandas(ref, data_definition=dd))
    return snap.dict()


def run_driftline(binary, ref_path, cur_path, categorical):
    cmd = [binary, "drift", "--reference", str(ref_path), "--current", str(cur_path), "--format", "json"]
    if categorical:
        cmd += ["--categorical", ",".join(categorical)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {res.returncode}: {res.stderr}")
    rep = json.loads(res.stdout)
    out = {}
    for c in rep["columns"]:
        test = normalise_test(c["test"])
        if c["score"] is None:
            out[c["name"]] = {"test": test, "score": None, "threshold": c["threshold"], "drift": None,
                              "kind": c["kind"]}
        else:
            out[c["name"]] = {"test": test, "score": c["score"], "threshold": c["threshold"],
                              "drift": bool(c["drift_detected"]), "kind": c["kind"]}
        out[c["name"]]["metrics"] = c.get("metrics", {})
    return out


def normalise_test(name):
    """driftline's test names, mapped to the names used here."""
    n = name.lower()
    if n in ("z", "z_test", "ztest", "z-test"):
        return "z"
    return n


# --- comparison ------------------------------------------------------------------

def close(test, a, b):
    """Whether two scores of the same test are as close as the documented
    approximations allow: p-values within 0.05 (or both below 1e-6, where
    only the verdict matters), distances within 10% or 0.005."""
    if test in P_VALUE_TESTS:
        return abs(a - b) <= 0.05 or (a < 1e-6 and b < 1e-6)
    return abs(a - b) <= max(0.005, 0.1 * max(abs(a), abs(b)))


def compare(name, ev, dl):
    rows = []
    for col in ev:
        e, d = ev[col], dl.get(col)
        row = {"dataset": name, "column": col, "evidently": e, "driftline": d}
        if "error" in e:
            row["differs"] = "evidently-error"
        elif d is None or d["score"] is None:
            row["differs"] = "driftline-no-score"
        elif e["test"] != d["test"]:
            row["differs"] = "test"
        elif e["drift"] != d["drift"]:
            row["differs"] = "verdict"
        elif not close(e["test"], e["score"], d["score"]):
            row["differs"] = "score"
        else:
            row["differs"] = None
        rows.append(row)
    return rows


def fmt(x):
    if x is None:
        return "–"
    if x == 0:
        return "0"
    if abs(x) < 1e-3 or abs(x) >= 1e4:
        return f"{x:.2e}"
    return f"{x:.4f}"


def verdict(x):
    return "–" if x is None else ("drift" if x else "no")


def markdown(rows, problems):
    lines = [
        "| dataset | column | Evidently test | score | verdict | driftline test | score | verdict | agree? |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        e, d = r["evidently"], r["driftline"] or {}
        if "error" in e:
            ev = ["error", "–", "–"]
        else:
            ev = [e["test"], fmt(e["score"]), verdict(e["drift"])]
        dv = [d.get("test", "–"), fmt(d.get("score")), verdict(d.get("drift"))]
        if r["differs"] is None:
            agree = "yes"
        else:
            exp = EXPECTED.get((r["dataset"], r["column"]))
            what = {"test": "test differs", "verdict": "verdict differs", "score": "score differs",
                    "evidently-error": "Evidently fails", "driftline-no-score": "no driftline score"}[r["differs"]]
            agree = f"no: {what}" + (f" ([why](#{exp[1]}))" if exp else " (UNEXPLAINED)")
        lines.append("| " + " | ".join([r["dataset"], f"`{r['column']}`"] + ev + dv + [agree]) + " |")

    n = len(rows)
    same_test = sum(1 for r in rows if r["differs"] not in ("test", "evidently-error", "driftline-no-score"))
    same_verdict = sum(1 for r in rows if "error" not in r["evidently"] and r["driftline"]
                       and r["driftline"]["drift"] is not None and r["evidently"]["drift"] == r["driftline"]["drift"])
    full = sum(1 for r in rows if r["differs"] is None)
    lines += [
        "",
        f"**Summary:** {n} columns in {len({r['dataset'] for r in rows})} datasets. "
        f"Same test: {same_test} of {n}. Same verdict: {same_verdict} of {n}. "
        f"Same test, same verdict and a close score: {full} of {n}. "
        f"Every difference is one of the expected ones explained below."
        if not problems else
        f"**Summary:** {n} columns; {full} agree fully. PROBLEMS: " + "; ".join(problems),
    ]
    return "\n".join(lines)


def check(rows):
    problems = []
    seen = set()
    for r in rows:
        key = (r["dataset"], r["column"])
        if r["differs"] is None:
            continue
        seen.add(key)
        exp = EXPECTED.get(key)
        if exp is None:
            problems.append(f"{key}: unexplained difference ({r['differs']})")
        elif exp[0] != r["differs"]:
            problems.append(f"{key}: differs by {r['differs']}, expected {exp[0]}")
    for key in EXPECTED:
        if key not in seen:
            problems.append(f"{key}: expected to differ ({EXPECTED[key][0]}) but agrees; update EXPECTED and the doc")
    return problems


def write_doc(marker, table):
    text = DOC.read_text()
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    pat = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pat.search(text):
        raise SystemExit(f"{DOC}: markers {begin} ... {end} not found")
    DOC.write_text(pat.sub(lambda _: f"{begin}\n{table}\n{end}", text))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driftline", default=str(ROOT / "bin" / "driftline"))
    ap.add_argument("--keep", help="write the datasets into this directory and keep them")
    ap.add_argument("--no-write", action="store_true", help="print the table, do not touch docs/ or testdata/")
    args = ap.parse_args()

    tmp = None
    if args.keep:
        out = pathlib.Path(args.keep)
        out.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="driftline-evidently-")
        out = pathlib.Path(tmp.name)

    rows, other = [], []
    for name, ref, cur, categorical in datasets():
        rp, cp = out / f"{name}_reference.csv", out / f"{name}_current.csv"
        ref.to_csv(rp, index=False)
        cur.to_csv(cp, index=False)
        ev = run_evidently(rp, cp, categorical)
        dl = run_driftline(args.driftline, rp, cp, categorical)
        rows += compare(name, ev, dl)
        if name in OTHER_COLUMNS:
            other += other_rows(name, run_evidently_methods(rp, cp, categorical, OTHER_COLUMNS[name]), dl)

    problems = check(rows)
    table = markdown(rows, problems)
    others = other_markdown(other)
    print(table)
    print(others)
    if not args.no_write:
        write_doc("compare", table)
        write_doc("metrics", others)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"default_tests": rows, "other_statistics": other},
                                      indent=1, sort_keys=True, default=float) + "\n")
    for p in problems:
        print("compare:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
