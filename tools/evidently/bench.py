#!/usr/bin/env python3
"""Time `driftline drift` against Evidently on 1,000,000 rows x 20 columns.

Both run as whole processes under GNU time (`/usr/bin/time -f "%e %M"`):
wall seconds and peak resident memory. Evidently's process is
run_evidently.py: pandas reads both CSV files, then DataDriftPreset runs
with the same column kinds driftline gets through --categorical. Each tool
runs --repeat times (default 3), alternating, and the median counts; the
1-minute load average before each run is recorded, since the machine may be
shared.

The data (14 numeric and 6 categorical columns, drift in some of them) is
generated with a fixed seed into ${XDG_CACHE_HOME:-~/.cache}/driftline/bench
once and reused; it is not committed. The reference has as many rows as the
current file (--reference-rows, default 1,000,000).

The table replaces the part of docs/evidently.md between
`<!-- bench:begin -->` and `<!-- bench:end -->` (skip with --no-write).

    ~/.cache/driftline/venv/bin/python tools/evidently/bench.py [--rows N] [--reference-rows N] [--repeat 3]
"""

import argparse
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from compare import EVIDENTLY_TESTS

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "evidently.md"
SEED = 7
CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "driftline" / "bench"
CATEGORICAL = [f"c{i}" for i in range(6)]


def frame(rng, n, current):
    """14 numeric and 6 categorical columns; current=True shifts some."""
    c = {}
    for i, (mu, sd) in enumerate([(0, 1), (10, 2), (100, 15), (-5, 3), (50, 10), (1, 0.1)]):
        shift = 0.5 * sd if current and i in (1, 3) else 0.0
        c[f"n{i}"] = rng.normal(mu + shift, sd, n)
    c["n6"] = rng.lognormal(3, 0.5, n)
    c["n7"] = rng.lognormal(0, 0.8 if current else 0.5, n)
    c["n8"] = rng.uniform(0, 1000, n)
    c["n9"] = rng.exponential(2.0, n)
    c["n10"] = rng.poisson(20, n)  # integer counts
    c["n11"] = rng.choice(np.arange(1, 6), n, p=[0.1, 0.2, 0.3, 0.25, 0.15])  # a rating
    c["n12"] = (rng.random(n) < 0.3).astype(int)  # a flag
    n13 = rng.normal(0, 1, n)
    n13[rng.random(n) < 0.05] = np.nan
    c["n13"] = n13
    obj = lambda vals, p: rng.choice(np.array(vals, dtype=object), n, p=p)
    c["c0"] = obj(["basic", "plus", "pro"], [0.5, 0.3, 0.2])
    c["c1"] = obj(["yes", "no"], [0.55, 0.45] if current else [0.7, 0.3])
    c["c2"] = obj([f"r{i}" for i in range(10)], None)
    z = 1.0 / np.arange(1, 51)
    c["c3"] = obj([f"k{i:02d}" for i in range(50)], z / z.sum())
    z = 1.0 / np.arange(1, 201) ** 1.2
    c["c4"] = obj([f"city-{i:03d}" for i in range(200)], z / z.sum())
    c["c5"] = (obj(["a", "b", "c", "new"], [0.45, 0.3, 0.2, 0.05]) if current
               else obj(["a", "b", "c"], [0.5, 0.3, 0.2]))
    return pd.DataFrame(c)


def data(rows, ref_rows):
    """Write (once) and return the reference and current CSV paths."""
    CACHE.mkdir(parents=True, exist_ok=True)
    ref = CACHE / f"reference_{ref_rows}_s{SEED}.csv"
    cur = CACHE / f"current_{rows}_s{SEED}.csv"
    for path, n, current, seed in [(ref, ref_rows, False, SEED), (cur, rows, True, SEED + 1)]:
        if path.exists():
            continue
        print(f"bench: writing {path}", file=sys.stderr)
        tmp = path.with_suffix(".tmp")
        frame(np.random.default_rng(seed), n, current).to_csv(tmp, index=False, float_format="%.6g")
        tmp.rename(path)
    return ref, cur


def timed(cmd):
    """Run cmd under GNU time; return (wall s, peak MB, CPU s, stdout)."""
    out = CACHE / "time.txt"
    res = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", "-o", str(out)] + cmd,
                         capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {res.returncode}: {res.stderr[-2000:]}")
    wall, kb, user, sys_ = out.read_text().split()[-4:]
    return float(wall), int(kb) / 1024, float(user) + float(sys_), res.stdout


def load():
    return os.getloadavg()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reference-rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--driftline", default=str(ROOT / "bin" / "driftline"))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--generate-only", action="store_true", help="write the data, time nothing")
    args = ap.parse_args()

    ref, cur = data(args.rows, args.reference_rows)
    if args.generate_only:
        return
    cat = ",".join(CATEGORICAL)
    tools = {
        "driftline": [args.driftline, "drift", "--reference", str(ref), "--current", str(cur),
                      "--format", "json", "--categorical", cat],
        "evidently": [sys.executable, str(ROOT / "tools" / "evidently" / "run_evidently.py"),
                      str(ref), str(cur), "--categorical", cat],
    }
    runs = {t: [] for t in tools}
    drifted, scores = {}, {}
    for i in range(args.repeat):
        for t, cmd in tools.items():
            before = load()
            wall, mb, cpu, stdout = timed(cmd)
            runs[t].append({"wall": wall, "mb": mb, "cpu": cpu, "load": before})
            print(f"bench: run {i + 1} {t}: {wall:.2f} s, {mb:.0f} MB, {cpu:.2f} CPU s, load before {before:.2f}",
                  file=sys.stderr)
            rep = json.loads(stdout)
            drifted[t + "_share"] = rep["drifted_share"]
            if t == "driftline":
                scores["driftline"] = {c["name"]: (c["test"], c["score"]) for c in rep["columns"]}
            else:
                scores["evidently"] = {k: (c["method"], c["score"]) for k, c in rep["columns"].items()}

    med = {t: {k: statistics.median(r[k] for r in rs) for k in ("wall", "mb", "cpu")} for t, rs in runs.items()}
    loads = [r["load"] for rs in runs.values() for r in rs]
    speed = med["evidently"]["wall"] / med["driftline"]["wall"]
    mem = med["evidently"]["mb"] / med["driftline"]["mb"]
    cpu = med["evidently"]["cpu"] / med["driftline"]["cpu"]
    size = lambda p: p.stat().st_size / 1e6
    lines = [
        f"Data: current {args.rows:,} rows ({size(cur):.0f} MB CSV), reference {args.reference_rows:,} rows "
        f"({size(ref):.0f} MB CSV), 14 numeric and 6 categorical columns, seed {SEED}. "
        f"Machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), shared with other work; "
        f"1-minute load average before the runs: {min(loads):.2f} to {max(loads):.2f}. "
        f"Median of {args.repeat} runs each, measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| tool | wall s (median) | peak RSS MB (median) | CPU s, user + sys (median) | runs (wall s / MB / CPU s) |",
        "|---|---|---|---|---|",
    ]
    for t in tools:
        rs = ", ".join(f"{r['wall']:.1f} / {r['mb']:.0f} / {r['cpu']:.1f}" for r in runs[t])
        lines.append(f"| {t} | {med[t]['wall']:.2f} | {med[t]['mb']:.0f} | {med[t]['cpu']:.1f} | {rs} |")
    lines += [
        f"| **Evidently ÷ driftline** | **{speed:.1f}×** | **{mem:.1f}×** | **{cpu:.1f}×** | |",
        "",
        f"Target (issue 3): driftline ≥ 20× faster with lower peak memory: "
        f"{'met' if speed >= 20 and mem > 1 else 'NOT met'} "
        f"({speed:.1f}× faster, {mem:.1f}× less memory). "
        f"Drifted share: driftline {drifted.get('driftline_share', float('nan')):.2f}, "
        f"Evidently {drifted.get('evidently_share', float('nan')):.2f}.",
    ]
    # The scores side by side: both tools should pick the same test, and
    # the values should be close (docs/evidently.md explains where not).
    far = []
    for col, (test, d) in scores["driftline"].items():
        method, e = scores["evidently"][col]
        if EVIDENTLY_TESTS[method] != test:
            far.append(f"`{col}` (driftline {test}, Evidently {method})")
        elif abs(d - e) > max(0.005, 0.1 * abs(e)):
            far.append(f"`{col}` ({test}: driftline {d:.3f}, Evidently {e:.3f})")
    lines.append(f"Same test, and scores within 10% (or 0.005) of Evidently's, in {len(scores['driftline']) - len(far)} of "
                 f"{len(scores['driftline'])} columns" + (f"; not in {', '.join(far)}." if far else "."))
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        text = DOC.read_text()
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        pat = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
        if not pat.search(text):
            raise SystemExit(f"{DOC}: markers {begin} ... {end} not found")
        DOC.write_text(pat.sub(lambda _: f"{begin}\n{table}\n{end}", text))


if __name__ == "__main__":
    main()
