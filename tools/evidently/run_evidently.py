#!/usr/bin/env python3
"""Run Evidently's DataDriftPreset on two CSV files, as a user would.

bench.py times this script as one process, the way it times
`driftline drift`: reading both files with pandas, the report, and a short
summary on stdout (the drifted share and each column's test and score).

    python tools/evidently/run_evidently.py REF.csv CUR.csv [--categorical a,b]
"""

import argparse
import json
import sys
import warnings


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reference")
    ap.add_argument("current")
    ap.add_argument("--categorical", default="", help="comma-separated categorical columns")
    args = ap.parse_args()

    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    categorical = [c for c in args.categorical.split(",") if c]
    dtype = {c: str for c in categorical}
    ref = pd.read_csv(args.reference, dtype=dtype)
    cur = pd.read_csv(args.current, dtype=dtype)
    dd = DataDefinition(numerical_columns=[c for c in ref.columns if c not in categorical],
                        categorical_columns=categorical)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snap = Report([DataDriftPreset()]).run(
            current_data=Dataset.from_pandas(cur, data_definition=dd),
            reference_data=Dataset.from_pandas(ref, data_definition=dd))
    out = {"columns": {}}
    for m in snap.dict()["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            out["drifted_share"] = m["value"]["share"]
        else:
            out["columns"][cfg["column"]] = {"method": cfg["method"], "score": m["value"]}
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
