#!/usr/bin/env python3
"""scikit-uplift reference numbers for bankscore's uplift evaluation (src/training/uplift_eval.rs).

Subcommands:
  score FILE.csv      read `predicted_uplift,treated,churned` (treated/churned 0 or 1) and print,
                      as JSON, scikit-uplift's qini_auc_score and uplift_auc_score, uplift_at_k
                      (strategy="overall") at k = 0.1, 0.2, 0.3 and uplift_by_percentile
                      (strategy="overall", bins=10), all with the outcome y = stayed = 1 - churned
  generate            write a seeded synthetic held-out campaign split as such a CSV to stdout;
                      predicted uplift is rounded so that many customers share a score

Setup (pins in scripts/uplift_requirements.txt):
  python3 -m venv /tmp/upvenv && /tmp/upvenv/bin/pip install -r scripts/uplift_requirements.txt
  /tmp/upvenv/bin/python scripts/uplift_reference.py score tests/data/uplift_eval_typical.csv
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np
import pandas as pd


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN: sklift's mean over an empty group becomes null."""
    value = float(value)
    return value if math.isfinite(value) else None


def score(path: str) -> dict:
    from sklift.metrics import qini_auc_score, uplift_at_k, uplift_auc_score, uplift_by_percentile

    df = pd.read_csv(path)
    uplift = df["predicted_uplift"].to_numpy(dtype=float)
    treatment = df["treated"].to_numpy(dtype=int)
    stayed = 1 - df["churned"].to_numpy(dtype=int)

    by_decile = uplift_by_percentile(stayed, uplift, treatment, strategy="overall", bins=10)
    return {
        "rows": int(len(df)),
        "qini_auc_score": float(qini_auc_score(stayed, uplift, treatment)),
        "uplift_auc_score": float(uplift_auc_score(stayed, uplift, treatment)),
        "uplift_at_k": {
            str(k): finite_or_none(uplift_at_k(stayed, uplift, treatment, strategy="overall", k=k))
            for k in (0.1, 0.2, 0.3)
        },
        "deciles": [
            {
                "n_treatment": int(row.n_treatment),
                "n_control": int(row.n_control),
                "uplift": finite_or_none(row.uplift),
            }
            for row in by_decile.itertuples()
        ],
    }


def generate(seed: int, rows: int, base_churn: float, step: float, treated_top: int) -> str:
    """Rows whose true uplift grows with the predicted one, plus noise.

    `step` is the grid the predicted uplift is rounded to (ties); the `treated_top` highest-scored
    rows are all treated, so the first threshold of the curves has no control row.
    """
    rng = np.random.default_rng(seed)
    predicted = np.round(rng.normal(0.04, 0.08, rows) / step) * step
    true_uplift = 0.6 * predicted + rng.normal(0.0, 0.03, rows)
    treated = rng.integers(0, 2, rows)
    top = np.argsort(-predicted, kind="mergesort")[:treated_top]
    treated[top] = 1
    churn_probability = np.clip(base_churn - treated * true_uplift, 0.01, 0.99)
    churned = (rng.random(rows) < churn_probability).astype(int)
    lines = ["predicted_uplift,treated,churned"]
    lines += [f"{p + 0.0:.2f},{t},{c}" for p, t, c in zip(predicted, treated, churned)]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    score_cmd = sub.add_parser("score")
    score_cmd.add_argument("csv")
    gen = sub.add_parser("generate")
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--rows", type=int, default=300)
    gen.add_argument("--base-churn", type=float, default=0.2)
    gen.add_argument("--step", type=float, default=0.01, help="grid of the predicted uplift")
    gen.add_argument("--treated-top", type=int, default=0)
    args = parser.parse_args()

    if args.command == "score":
        json.dump(score(args.csv), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(generate(args.seed, args.rows, args.base_churn, args.step, args.treated_top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
