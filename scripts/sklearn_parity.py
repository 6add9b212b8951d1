#!/usr/bin/env python3
"""scikit-learn parity check of `bankscore train` (driven by scripts/sklearn_parity.sh).

Subcommands:
  prepare          split a churn CSV 80/20 into train/valid CSVs of usable numeric columns
  compare          score bankscore's model.json and a scikit-learn fit on the same rows,
                   print a table, write parity.json, exit 1 when parity fails
  demo-public-csv  write a synthetic CSV shaped like a public bank churn data set
                   (RowNumber, CustomerId, Surname, CreditScore, Geography, ... Exited)

Exit 2 on a setup error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

EXTRA_PREFIX = "extra."
# Id-like columns are never features: a word id/ids/uuid/guid (split at non-alphanumerics and
# camelCase: customer_id, CustomerId, CustomerID, ID) or a row counter. Not a substring match,
# which would drop Dividend or PaidFees.
ID_WORDS = {"id", "ids", "uuid", "guid"}
ID_LIKE_NAMES = {"rownumber", "index", "unnamed0", "clientnum"}


def die(msg: str) -> None:
    print(f"sklearn_parity: {msg}", file=sys.stderr)
    sys.exit(2)


def is_id_like(name: str) -> bool:
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name)
    flat = re.sub(r"[^0-9a-z]", "", name.lower())
    return flat in ID_LIKE_NAMES or any(w.lower() in ID_WORDS for w in words)


def label_column(s: pd.Series, name: str) -> np.ndarray:
    """0/1 or true/false (also 1.0/0.0), as bankscore reads labels."""
    t = s.astype(str).str.strip().str.lower()
    y = t.map({"1": 1, "1.0": 1, "true": 1, "0": 0, "0.0": 0, "false": 0})
    if y.isna().any():
        die(f"label `{name}` must be 0/1 or true/false; found {sorted(set(s[y.isna()].astype(str)))[:5]}")
    return y.astype(int).to_numpy()


def cmd_prepare(a: argparse.Namespace) -> int:
    df = pd.read_csv(a.data, low_memory=False)
    if a.label not in df.columns:
        die(f"{a.data}: no label column `{a.label}` (columns: {list(df.columns)})")
    y = label_column(df[a.label], a.label)
    others = [c for c in df.columns if c != a.label]
    dropped_id = [c for c in others if is_id_like(c)]
    text = [c for c in others if c not in dropped_id
            and not (df[c].dtype == bool or pd.api.types.is_numeric_dtype(df[c]))]
    kept = [c for c in others if c not in dropped_id and c not in text]

    # bankscore rejects empty values: drop rows with a missing value in a kept column.
    x = df[kept].astype(float)
    complete = np.isfinite(x.to_numpy()).all(axis=1)
    x, y = x[complete].reset_index(drop=True), y[complete]
    x.columns = [c.replace(",", "_") for c in kept]  # --features cannot carry commas

    order = np.random.default_rng(a.seed).permutation(len(x))
    n_valid = int(round(len(x) * 0.2))
    parts = {"valid": np.sort(order[:n_valid]), "train": np.sort(order[n_valid:])}
    # bankscore stops on a column that is constant on the training rows: drop those.
    constant = [c for c in x.columns if np.ptp(x[c].to_numpy()[parts["train"]]) == 0.0]
    features = [c for c in x.columns if c not in constant]
    if not features:
        die("no usable numeric feature columns left")

    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for part, idx in parts.items():
        if len(set(y[idx])) < 2:
            die(f"the {part} split has a single class; use more rows")
        x.loc[idx, features].assign(**{a.label: y[idx]}).to_csv(out / f"{part}.csv", index=False)
    (out / "features.txt").write_text(",".join(features) + "\n")
    summary = {
        "source": str(a.data), "label": a.label, "seed": a.seed, "rows": len(df),
        "rows_dropped_missing_values": int((~complete).sum()),
        "train_rows": len(parts["train"]), "valid_rows": len(parts["valid"]),
        "dropped_id_like": dropped_id, "ignored_non_numeric": text,
        "dropped_constant": constant, "features": features,
    }
    (out / "prepare.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"prepared {a.data}: {len(parts['train'])} train / {len(parts['valid'])} validation rows "
          f"(split seed {a.seed}), label `{a.label}`")
    for what, cols in (("features", features), ("dropped id-like columns", dropped_id),
                       ("ignored non-numeric columns", text), ("dropped constant columns", constant)):
        print(f"  {what}: {', '.join(cols) or '-'}")
    print(f"  dropped rows with missing values: {summary['rows_dropped_missing_values']}")
    return 0


def load_xy(path: str, features: list[dict], label: str) -> tuple[np.ndarray, np.ndarray]:
    """Transformed feature matrix and labels; `extra.<col>` is read from column `<col>`."""
    x, y, _ = load_xy_and(path, features, label, [])
    return x, y


def load_xy_and(path: str, features: list[dict], label: str,
                also: list[str]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """As load_xy, plus the columns `also` as read (e.g. a campaign history's `action`)."""
    header = set(pd.read_csv(path, nrows=0).columns)
    cols = [f["name"] if f["name"] in header else f["name"].removeprefix(EXTRA_PREFIX)
            for f in features]
    missing = [c for c in cols + [label] + also if c not in header]
    if missing:
        die(f"{path}: missing columns {missing}")
    df = pd.read_csv(path, usecols=list(dict.fromkeys(cols + [label] + also)), low_memory=False)
    xs = []
    for f, c in zip(features, cols):
        v = df[c].to_numpy(dtype=float)
        if f["transform"] == "log1p":
            v = np.log1p(np.maximum(v, 0.0))
        elif f["transform"] != "identity":
            die(f"feature `{f['name']}`: unknown transform `{f['transform']}`")
        xs.append(v)
    return np.column_stack(xs), label_column(df[label], label), df[also]


def cmd_compare(a: argparse.Namespace) -> int:
    import sklearn
    from scipy.special import expit
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.preprocessing import StandardScaler

    model = json.loads(Path(a.model).read_text())
    meta = json.loads(Path(a.metadata).read_text())
    if model.get("kind") != "logistic_regression":
        die(f"{a.model}: kind `{model.get('kind')}` is not logistic_regression")
    feats = model["features"]
    names = [f["name"] for f in feats]
    if a.features:
        asked = [c if c in names else EXTRA_PREFIX + c for c in a.features.split(",")]
        if sorted(asked) != sorted(names):
            die(f"model.json features {names} differ from those asked for {a.features}")
    x_train, y_train = load_xy(a.train, feats, a.label)
    x_valid, y_valid = load_xy(a.valid, feats, a.label)
    bs_rows = meta.get("training", {}).get("train_rows")
    if bs_rows not in (None, len(y_train)):
        die(f"bankscore reports {bs_rows} train rows, the train CSV has {len(y_train)}")

    # bankscore, from model.json alone.
    mean, scale = (np.array([f[k] for f in feats]) for k in ("mean", "scale"))
    coef_b, icpt_b = np.array([f["coefficient"] for f in feats]), float(model["intercept"])
    p_b = expit(icpt_b + ((x_valid - mean) / scale) @ coef_b)

    # scikit-learn: StandardScaler + L2 logistic regression with C = 1 / l2.
    scaler = StandardScaler().fit(x_train)
    clf = LogisticRegression(C=1.0 / a.l2, tol=1e-10, max_iter=10000, solver="lbfgs")
    clf.fit(scaler.transform(x_train), y_train)
    coef_s, icpt_s = clf.coef_[0], float(clf.intercept_[0])
    p_s = clf.predict_proba(scaler.transform(x_valid))[:, 1]

    def objective(z, w):  # sum of log-losses + 0.5 * l2 * |w|^2 on the training rows
        return float(np.logaddexp(0.0, np.where(y_train == 1, -z, z)).sum() + 0.5 * a.l2 * w @ w)

    obj_b = objective(icpt_b + ((x_train - mean) / scale) @ coef_b, coef_b)
    obj_s = objective(icpt_s + scaler.transform(x_train) @ coef_s, coef_s)
    auc_b, auc_s = roc_auc_score(y_valid, p_b), roc_auc_score(y_valid, p_s)
    ll_b, ll_s = log_loss(y_valid, p_b, labels=[0, 1]), log_loss(y_valid, p_s, labels=[0, 1])
    dp, dcoef = np.abs(p_b - p_s), np.abs(coef_b - coef_s)
    d_auc, max_dp, d_icpt = abs(auc_b - auc_s), float(dp.max()), abs(icpt_b - icpt_s)
    failures = []
    if not d_auc <= a.auc_tol:
        failures.append(f"|AUC_bankscore - AUC_sklearn| = {d_auc:.3g} > {a.auc_tol:g}")
    if not max_dp <= a.dp_tol:
        failures.append(f"max |p_bankscore - p_sklearn| = {max_dp:.3g} > {a.dp_tol:g}")

    result = {
        "passed": not failures,
        "failures": failures,
        "thresholds": {"max_abs_auc_diff": a.auc_tol, "max_abs_prob_diff": a.dp_tol},
        "data": {"train": a.train, "valid": a.valid, "label": a.label,
                 "train_rows": len(y_train), "bankscore_train_rows": bs_rows,
                 "valid_rows": len(y_valid), "valid_churn_rate": float(y_valid.mean()),
                 "features": names},
        "prepared": json.loads(Path(a.prepared).read_text()) if a.prepared else None,
        "l2": a.l2,
        "sklearn_C": 1.0 / a.l2,
        "versions": {"sklearn": sklearn.__version__, "numpy": np.__version__,
                     "pandas": pd.__version__, "python": sys.version.split()[0]},
        "sklearn_n_iter": int(clf.n_iter_[0]),
        "bankscore": {"roc_auc": auc_b, "log_loss": ll_b, "train_objective": obj_b},
        "sklearn": {"roc_auc": auc_s, "log_loss": ll_s, "train_objective": obj_s},
        "bankscore_reported_metrics": meta.get("metrics"),
        "abs_auc_diff": d_auc,
        "abs_log_loss_diff": abs(ll_b - ll_s),
        "max_abs_prob_diff": max_dp,
        "mean_abs_prob_diff": float(dp.mean()),
        "max_abs_coef_diff": float(dcoef.max()),
        "abs_intercept_diff": d_icpt,
        "coefficients": [
            {"feature": n, "transform": f["transform"], "bankscore": float(cb),
             "sklearn": float(cs), "abs_diff": float(abs(cb - cs))}
            for n, f, cb, cs in zip(names, feats, coef_b, coef_s)
        ],
        "intercept": {"bankscore": icpt_b, "sklearn": icpt_s},
    }
    out = Path(a.out_dir) / "parity.json"
    out.write_text(json.dumps(result, indent=2) + "\n")

    w = max(len(n) for n in names + ["(intercept)"])
    print(f"\nStandardized coefficients (L2 = {a.l2:g}, scikit-learn C = {1.0 / a.l2:g}):")
    print(f"  {'feature':<{w}}  {'bankscore':>12}  {'sklearn':>12}  {'|diff|':>10}")
    for n, cb, cs in [*zip(names, coef_b, coef_s), ("(intercept)", icpt_b, icpt_s)]:
        print(f"  {n:<{w}}  {cb:>12.6f}  {cs:>12.6f}  {abs(cb - cs):>10.2e}")
    print(f"\nValidation: {len(y_valid)} rows, churn rate {y_valid.mean():.4f}; "
          f"both fitted on {len(y_train)} train rows")
    print(f"  {'metric':<28}  {'bankscore':>12}  {'sklearn':>12}  {'|diff|':>10}  threshold")
    for label, b, s, d, tol in (
        ("ROC AUC", f"{auc_b:.6f}", f"{auc_s:.6f}", d_auc, f"<= {a.auc_tol:g}"),
        ("log-loss", f"{ll_b:.6f}", f"{ll_s:.6f}", abs(ll_b - ll_s), ""),
        ("train objective", f"{obj_b:.4f}", f"{obj_s:.4f}", abs(obj_b - obj_s), ""),
        ("max |p_b - p_s|", "", "", max_dp, f"<= {a.dp_tol:g}"),
        ("mean |p_b - p_s|", "", "", dp.mean(), ""),
        ("max |coef_b - coef_s|", "", "", dcoef.max(), ""),
        ("|intercept_b - intercept_s|", "", "", d_icpt, ""),
    ):
        print(f"  {label:<28}  {b:>12}  {s:>12}  {d:>10.2e}  {tol}".rstrip())
    print(f"wrote {out}")
    if failures:
        print("PARITY FAILED: " + "; ".join(failures))
        return 1
    print("PARITY OK")
    return 0


def cmd_demo_public_csv(a: argparse.Namespace) -> int:
    """A CSV shaped like the public bank customer churn data sets (label `Exited`)."""
    rng = np.random.default_rng(a.seed)
    n = a.rows
    geography = rng.choice(["France", "Germany", "Spain"], size=n, p=[0.5, 0.25, 0.25])
    gender = rng.choice(["Female", "Male"], size=n)
    age = np.clip(rng.normal(39, 10, n).round(), 18, 92).astype(int)
    tenure = rng.integers(0, 11, n)
    credit = np.clip(rng.normal(650, 96, n).round(), 350, 850).astype(int)
    has_balance = rng.random(n) < 0.64
    balance = np.where(has_balance, np.clip(rng.normal(119800, 30000, n), 0, None), 0.0).round(2)
    products = rng.choice([1, 2, 3, 4], size=n, p=[0.50, 0.46, 0.03, 0.01])
    has_card = (rng.random(n) < 0.7).astype(int)
    active = (rng.random(n) < 0.52).astype(int)
    salary = rng.uniform(11, 200000, n).round(2)
    z = (
        -1.6
        + 0.07 * (age - 39)
        - 0.9 * active
        + 0.75 * (geography == "Germany")
        + 0.5 * (gender == "Female")
        + 0.25 * (balance / 100000)
        + np.select([products == 1, products == 2], [0.2, -1.3], 2.5)
        - 0.0006 * (credit - 650)
        - 0.02 * (tenure - 5)
    )
    exited = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(int)
    surnames = np.array(["Hargrave", "Hill", "Onio", "Boni", "Mitchell", "Chu", "Bartlett", "Obinna"])
    df = pd.DataFrame({
        "RowNumber": np.arange(1, n + 1),
        "CustomerId": 15_600_000 + rng.permutation(n),
        "Surname": rng.choice(surnames, n),
        "CreditScore": credit,
        "Geography": geography,
        "Gender": gender,
        "Age": age,
        "Tenure": tenure,
        "Balance": balance,
        "NumOfProducts": products,
        "HasCrCard": has_card,
        "IsActiveMember": active,
        "EstimatedSalary": salary,
        "Exited": exited,
    })
    df.to_csv(a.out, index=False)
    print(f"wrote {n} rows to {a.out} (churn rate {exited.mean():.4f})")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("prepare", help="split a churn CSV into bankscore-ready CSVs")
    s.add_argument("--data", required=True)
    s.add_argument("--label", required=True)
    s.add_argument("--out-dir", required=True)
    s.add_argument("--seed", type=int, default=42)
    s.set_defaults(func=cmd_prepare)

    s = sub.add_parser("compare", help="compare bankscore's model.json with scikit-learn")
    s.add_argument("--model", required=True, help="bankscore bundle model.json")
    s.add_argument("--metadata", required=True, help="bankscore bundle metadata.json")
    s.add_argument("--train", required=True)
    s.add_argument("--valid", required=True)
    s.add_argument("--label", default="churned")
    s.add_argument("--features", help="comma-separated columns bankscore was asked to use")
    s.add_argument("--prepared", help="prepare.json, copied into parity.json")
    s.add_argument("--l2", type=float, default=1.0)
    s.add_argument("--auc-tol", type=float, default=0.005)
    s.add_argument("--dp-tol", type=float, default=0.01)
    s.add_argument("--out-dir", required=True)
    s.set_defaults(func=cmd_compare)

    s = sub.add_parser("demo-public-csv", help="write a synthetic public-like churn CSV")
    s.add_argument("--rows", type=int, default=10000)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_demo_public_csv)

    a = p.parse_args()
    if not getattr(a, "l2", 1.0) > 0 or not np.isfinite(getattr(a, "l2", 1.0)):
        die("--l2 must be a finite number > 0")
    return a.func(a)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # setup errors (bad files, bad values) exit 2, not 1 (parity failed)
        traceback.print_exc()
        sys.exit(2)
