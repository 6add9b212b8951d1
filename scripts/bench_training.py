"""`bankscore train` against scikit-learn's lbfgs on the same rows, in one run (BENCHMARKS.md).

Generates ROWS customers split 80/20 (`bankscore generate`, seeds SEED and SEED+1), then, in
ROUNDS alternating rounds:
- `bankscore train --data train.csv --validation-data valid.csv --json`: the fit's own time
  (`fit_seconds`: standardizing the training rows and linfa's L-BFGS), wall time, peak RSS;
- scikit-learn on the same training rows and features (the transforms of bankscore's
  model.json): StandardScaler + LogisticRegression(C = 1/L2, lbfgs, its default tol) timed from
  the raw matrix, so scaling is included; reading the CSV is not (nor is it in fit_seconds).
Prints each round, the medians, the ratio bankscore / scikit-learn and both validation AUCs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_parity import load_xy  # noqa: E402  (the parity check's reader and transforms)


def run_bankscore(binary: str, train: str, valid: str, out: str, l2: float) -> dict:
    cmd = ["/usr/bin/time", "-f", "%M %e", binary, "train", "--data", train, "--validation-data", valid,
           "--out", out, "--l2", str(l2), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise SystemExit(f"bankscore train failed: {p.stderr[-2000:]}")
    rss_kb, wall = p.stderr.strip().splitlines()[-1].split()
    report = json.loads(p.stdout)
    return {"fit": report["fit_seconds"], "wall": float(wall), "rss_mb": int(rss_kb) / 1024,
            "auc": report["evaluation"]["metrics"]["roc_auc"], "out": out}


def run_sklearn(x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray, l2: float) -> dict:
    started = time.perf_counter()
    scaler = StandardScaler().fit(x)
    clf = LogisticRegression(C=1.0 / l2, solver="lbfgs", max_iter=1000).fit(scaler.transform(x), y)
    seconds = time.perf_counter() - started
    auc = roc_auc_score(yv, clf.predict_proba(scaler.transform(xv))[:, 1])
    return {"fit": seconds, "iterations": int(clf.n_iter_[0]), "auc": auc}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--work", default="/tmp/bankscore-bench-training")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    n_train = a.rows * 4 // 5
    train = os.path.join(a.work, f"train-{n_train}-{a.seed}.csv")
    valid = os.path.join(a.work, f"valid-{a.rows - n_train}-{a.seed + 1}.csv")
    for path, rows, seed in ((train, n_train, a.seed), (valid, a.rows - n_train, a.seed + 1)):
        if not os.path.exists(path):
            subprocess.run([a.bin, "generate", "--rows", str(rows), "--seed", str(seed), "--out", path],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ours, theirs = [], []
    x = y = xv = yv = None
    for r in range(a.rounds):
        out = os.path.join(a.work, f"bundle-{r}", "churn", "v1")
        subprocess.run(["rm", "-rf", os.path.dirname(os.path.dirname(out))], check=True)
        b = run_bankscore(a.bin, train, valid, out, a.l2)
        ours.append(b)
        if x is None:  # the model's features and transforms, read once
            with open(os.path.join(out, "model.json")) as f:
                features = json.load(f)["features"]
            x, y = load_xy(train, features, "churned")
            xv, yv = load_xy(valid, features, "churned")
        s = run_sklearn(x, y, xv, yv, a.l2)
        theirs.append(s)
        print(f"round {r + 1}: bankscore fit {b['fit']:.2f} s (train {b['wall']:.2f} s, peak RSS "
              f"{b['rss_mb']:.0f} MB, AUC {b['auc']:.6f}); scikit-learn {s['fit']:.2f} s "
              f"({s['iterations']} iterations, AUC {s['auc']:.6f}); ratio {b['fit'] / s['fit']:.2f}", flush=True)
    fb = statistics.median(b["fit"] for b in ours)
    fs = statistics.median(s["fit"] for s in theirs)
    d_auc = abs(ours[0]["auc"] - theirs[0]["auc"])
    print(f"{n_train:,} training rows x {x.shape[1]} features: median fit bankscore {fb:.2f} s, "
          f"scikit-learn {fs:.2f} s, ratio {fb / fs:.2f}; |AUC difference| {d_auc:.1e}; "
          f"bankscore peak RSS {max(b['rss_mb'] for b in ours):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
