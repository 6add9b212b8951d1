#!/usr/bin/env python3
"""scikit-learn parity check of `bankscore train` (driven by scripts/sklearn_parity.sh).

Subcommands:
  prepare           split a public churn CSV 80/20 into bankscore-ready train/valid CSVs
  add-value-columns add neutral annual_margin / referrals_12m / days_since_last_activity
                    columns that an older `bankscore train` needs for tier cut-offs
  compare           score bankscore's model.json and a scikit-learn fit on the same data,
                    print a table, write parity.json, exit 1 when parity fails
  demo-public-csv   write a synthetic CSV shaped like a public bank churn data set
                    (RowNumber, CustomerId, Surname, CreditScore, Geography, ... Exited)

Parity thresholds (defaults; the shell script passes them): |AUC_bankscore - AUC_sklearn| <= 0.005
and max |p_bankscore - p_sklearn| <= 0.01 on the validation rows.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

# CustomerProfile fields bankscore knows as features (src/domain/profile.rs, BuiltinFeature).
KNOWN_FEATURES = (
    "age_years tenure_months products_held has_mortgage salary_credited direct_debits "
    "total_balance balance_trend_3m digital_logins_30d transactions_30d transactions_trend_3m "
    "complaints_12m open_complaint fee_increase_6m products_closed_12m has_relationship_manager "
    "days_since_last_contact days_since_last_activity contacts_30d annual_margin referrals_12m "
    "contact_consent"
).split()
EXTRA_PREFIX = "extra."

# Columns `bankscore train` (before --tier-policy) reads for tier cut-offs even when they are
# not features, with neutral values: margin 1 (positive total value), no referrals, active.
VALUE_COLUMN_PLACEHOLDERS = {
    "annual_margin": 1.0,
    "referrals_12m": 0.0,
    "days_since_last_activity": 0.0,
}

# Id-like columns are dropped (never features). Rule: the name, split into words at
# non-alphanumerics and camelCase boundaries, has a word "id", "ids", "uuid" or "guid"
# (customer_id, CustomerId, CustomerID, client-id, ID), or the whole name, lowercased without
# separators, is one of ID_LIKE_NAMES (RowNumber, CLIENTNUM, index, "Unnamed: 0", ...). A plain
# substring match on "id" is not used: it would drop Dividend, PaidFees or ResidenceYears.
ID_WORDS = {"id", "ids", "uuid", "guid"}
ID_LIKE_NAMES = {"rownumber", "rowno", "rownum", "row", "index", "unnamed0", "clientnum"}


def words(name: str) -> list[str]:
    return [
        w.lower()
        for w in re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name)
    ]


def is_id_like(name: str) -> bool:
    flat = re.sub(r"[^0-9a-z]", "", name.lower())
    return flat in ID_LIKE_NAMES or any(w in ID_WORDS for w in words(name))


# ---------------------------------------------------------------------------------------------
# Parsing values the way bankscore's CSV loader does (src/training/dataset.rs): numbers or
# true/false for features, 0/1/true/false (also 1.0/0.0) for the label.


def numeric_column(s: pd.Series, name: str) -> np.ndarray:
    if s.dtype == bool:
        return s.astype(float).to_numpy()
    if pd.api.types.is_numeric_dtype(s):
        v = s.astype(float).to_numpy()
    else:
        t = s.astype(str).str.strip().replace({"true": "1", "false": "0", "True": "1", "False": "0"})
        v = pd.to_numeric(t, errors="coerce").astype(float).to_numpy()
    bad = ~np.isfinite(v)
    if bad.any():
        row = int(np.argmax(bad))
        raise SystemExit(
            f"column `{name}`, data row {row + 1}: `{s.iloc[row]}` is not a finite number"
        )
    return v


def label_column(s: pd.Series, name: str) -> np.ndarray:
    if s.dtype == bool:
        return s.astype(int).to_numpy()
    t = s.astype(str).str.strip().str.lower()
    mapping = {"1": 1, "1.0": 1, "true": 1, "0": 0, "0.0": 0, "false": 0}
    y = t.map(mapping)
    if y.isna().any():
        bad = sorted(set(s[y.isna()].astype(str)))[:5]
        raise SystemExit(f"label `{name}` must be 0/1 or true/false; found {bad}")
    return y.astype(int).to_numpy()


# ---------------------------------------------------------------------------------------------
# prepare


def cmd_prepare(a: argparse.Namespace) -> int:
    df = pd.read_csv(a.data, low_memory=False)
    if a.label not in df.columns:
        raise SystemExit(f"{a.data}: no label column `{a.label}` (columns: {list(df.columns)})")
    y = label_column(df[a.label], a.label)

    dropped_id, ignored_non_numeric, kept = [], [], []
    for col in df.columns:
        if col == a.label:
            continue
        if is_id_like(col):
            dropped_id.append(col)
        elif df[col].dtype == bool or pd.api.types.is_numeric_dtype(df[col]):
            kept.append(col)
        else:
            ignored_non_numeric.append(col)

    # Rows with a missing value in a kept column: bankscore rejects empty or non-finite values.
    x = df[kept].astype(float)
    complete = np.isfinite(x.to_numpy()).all(axis=1) if kept else np.ones(len(df), bool)
    n_incomplete = int((~complete).sum())
    x, y = x[complete].reset_index(drop=True), y[complete]

    # Names bankscore accepts: known feature names as they are, `extra.<col>` for the rest
    # (commas, which --features cannot carry, become underscores).
    renamed, names = {}, []
    for col in kept:
        if col in KNOWN_FEATURES or (col.startswith(EXTRA_PREFIX) and len(col) > len(EXTRA_PREFIX)):
            new = col.replace(",", "_")
        else:
            new = EXTRA_PREFIX + col.replace(",", "_")
        if new != col:
            renamed[col] = new
        names.append(new)
    if len(set(names)) != len(names) or a.label in names:
        raise SystemExit(f"feature names collide after renaming: {names}")
    x.columns = names

    rng = np.random.default_rng(a.seed)
    order = rng.permutation(len(x))
    n_valid = int(round(len(x) * a.valid_share))
    valid_idx, train_idx = np.sort(order[:n_valid]), np.sort(order[n_valid:])

    # Constant (on the training rows) columns make bankscore stop; drop them.
    constant = [c for c in names if np.ptp(x[c].to_numpy()[train_idx]) == 0.0]
    features = [c for c in names if c not in constant]
    if not features:
        raise SystemExit("no usable numeric feature columns left")

    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for part, idx in (("train", train_idx), ("valid", valid_idx)):
        if len(set(y[idx])) < 2:
            raise SystemExit(f"the {part} split has a single class; use more rows")
    for part, idx in (("train", train_idx), ("valid", valid_idx)):
        frame = x.loc[idx, features].copy()
        frame[a.label] = y[idx]
        frame.to_csv(out / f"{part}.csv", index=False)
    (out / "features.txt").write_text(",".join(features) + "\n")
    summary = {
        "source": str(a.data),
        "label": a.label,
        "seed": a.seed,
        "rows": int(len(df)),
        "rows_dropped_missing_values": n_incomplete,
        "train_rows": int(len(train_idx)),
        "valid_rows": int(len(valid_idx)),
        "dropped_id_like": dropped_id,
        "ignored_non_numeric": ignored_non_numeric,
        "dropped_constant": constant,
        "renamed": renamed,
        "features": features,
    }
    (out / "prepare.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"prepared {a.data}: {len(train_idx)} train / {len(valid_idx)} validation rows "
          f"(split seed {a.seed}), label `{a.label}`")
    print(f"  features ({len(features)}): {', '.join(features)}")
    print(f"  dropped id-like columns: {', '.join(dropped_id) or '-'}")
    print(f"  ignored non-numeric columns: {', '.join(ignored_non_numeric) or '-'}")
    if constant:
        print(f"  dropped constant columns: {', '.join(constant)}")
    if n_incomplete:
        print(f"  dropped {n_incomplete} rows with missing values")
    return 0


def cmd_add_value_columns(a: argparse.Namespace) -> int:
    for path in a.csv:
        df = pd.read_csv(path, low_memory=False)
        added = [c for c in VALUE_COLUMN_PLACEHOLDERS if c not in df.columns]
        for c in added:
            df[c] = VALUE_COLUMN_PLACEHOLDERS[c]
        df.to_csv(path, index=False)
        print(f"  {path}: added placeholder columns {', '.join(added) or '(none needed)'}")
    return 0


# ---------------------------------------------------------------------------------------------
# bankscore's own train/validation split (only for a bankscore without --validation-data):
# `order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed))` with rand 0.8 / rand_chacha 0.3, the
# last round(rows * share) shuffled indices held out. compare checks the replica against the
# standardization means in model.json before using it.

M32 = 0xFFFFFFFF


class ChaCha8:
    """rand_chacha 0.3 ChaCha8Rng: 64-bit block counter, stream 0, 4-block buffer of u32s."""

    def __init__(self, seed: int, rounds: int = 8):
        state, words = seed & 0xFFFFFFFFFFFFFFFF, []
        for _ in range(8):  # rand_core 0.6 seed_from_u64: PCG32 fills the 32-byte key
            state = (state * 6364136223846793005 + 11634580027462260723) & 0xFFFFFFFFFFFFFFFF
            xorshifted = (((state >> 18) ^ state) >> 27) & M32
            rot = state >> 59
            words.append(((xorshifted >> rot) | (xorshifted << ((32 - rot) & 31))) & M32)
        self.key, self.rounds, self.counter, self.buf, self.i = words, rounds, 0, [], 0

    def _block(self, counter: int) -> list[int]:
        init = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *self.key,
                counter & M32, counter >> 32, 0, 0]
        x = init[:]

        def qr(a, b, c, d):
            x[a] = (x[a] + x[b]) & M32; x[d] ^= x[a]; x[d] = ((x[d] << 16) | (x[d] >> 16)) & M32
            x[c] = (x[c] + x[d]) & M32; x[b] ^= x[c]; x[b] = ((x[b] << 12) | (x[b] >> 20)) & M32
            x[a] = (x[a] + x[b]) & M32; x[d] ^= x[a]; x[d] = ((x[d] << 8) | (x[d] >> 24)) & M32
            x[c] = (x[c] + x[d]) & M32; x[b] ^= x[c]; x[b] = ((x[b] << 7) | (x[b] >> 25)) & M32

        for _ in range(self.rounds // 2):
            qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
            qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
        return [(a + b) & M32 for a, b in zip(x, init)]

    def next_u32(self) -> int:
        if self.i >= len(self.buf):
            self.buf = [w for k in range(4) for w in self._block(self.counter + k)]
            self.counter += 4
            self.i = 0
        v = self.buf[self.i]
        self.i += 1
        return v

    def below(self, n: int) -> int:
        """rand 0.8 `gen_range(0..n)` for u32 (widening multiply, rejection zone)."""
        zone = ((n << (32 - n.bit_length())) & M32) - 1
        while True:
            m = self.next_u32() * n
            if m & M32 <= zone:
                return m >> 32


def bankscore_split(rows: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = list(range(rows))
    rng = ChaCha8(seed)
    for i in range(rows - 1, 0, -1):
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    n_valid = int(math.floor(rows * share + 0.5))  # Rust f64::round: half away from zero
    return np.array(order[: rows - n_valid]), np.array(order[rows - n_valid:])


# ---------------------------------------------------------------------------------------------
# compare


def load_xy(path: str, features: list[dict], label: str) -> tuple[np.ndarray, np.ndarray]:
    # A feature `extra.<col>` is read from column `extra.<col>`, or else from `<col>` (newer
    # bankscore reads extra features from the bare column name).
    header = set(pd.read_csv(path, nrows=0).columns)
    columns = {}
    for f in features:
        n = f["name"]
        bare = n[len(EXTRA_PREFIX):] if n.startswith(EXTRA_PREFIX) else None
        columns[n] = bare if n not in header and bare in header else n
    missing = [c for c in list(columns.values()) + [label] if c not in header]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}")
    wanted = set(columns.values()) | {label}
    df = pd.read_csv(path, usecols=lambda c: c in wanted, low_memory=False)
    cols = []
    for f in features:
        v = numeric_column(df[columns[f["name"]]], f["name"])
        if f["transform"] == "identity":
            pass
        elif f["transform"] == "log1p":
            v = np.log1p(np.maximum(v, 0.0))
        else:
            raise SystemExit(f"feature `{f['name']}`: unknown transform `{f['transform']}`")
        cols.append(v)
    return np.column_stack(cols), label_column(df[label], label)


def sigmoid(z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def objective(z: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float) -> float:
    """Sum of log-losses + 0.5 * l2 * ||w||^2 (linfa's objective, = scikit-learn's / C)."""
    # log(1 + exp(-s z)) with s = +-1, stably.
    s = np.where(y == 1, 1.0, -1.0)
    return float(np.logaddexp(0.0, -s * z).sum() + 0.5 * l2 * float(w @ w))


def cmd_compare(a: argparse.Namespace) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.preprocessing import StandardScaler
    import sklearn

    model = json.loads(Path(a.model).read_text())
    if model.get("kind") != "logistic_regression":
        raise SystemExit(f"{a.model}: kind `{model.get('kind')}` is not logistic_regression")
    feats = model["features"]
    names = [f["name"] for f in feats]
    if a.features:
        expected = a.features.split(",")
        if sorted(expected) != sorted(names):
            raise SystemExit(f"model.json features {names} differ from those asked for {expected}")
    meta = json.loads(Path(a.metadata).read_text()) if a.metadata else {}

    xt_train, y_train = load_xy(a.train, feats, a.label)
    xt_valid, y_valid = load_xy(a.valid, feats, a.label)
    notes = [n for n in (a.note or []) if n]

    # bankscore, from model.json alone.
    mean = np.array([f["mean"] for f in feats])
    scale = np.array([f["scale"] for f in feats])

    split_replicated = None
    if a.bankscore_split:
        # bankscore held out a random share of the train CSV: fit scikit-learn on the same rows
        # when the replica of its split reproduces model.json's means and scales.
        share, seed = float(a.bankscore_split[0]), int(a.bankscore_split[1])
        rows, _ = bankscore_split(len(y_train), share, seed)
        sub = xt_train[rows]
        m, sd = sub.mean(axis=0), sub.std(axis=0)
        split_replicated = bool(
            np.all(np.abs(m - mean) <= 1e-9 * sd) and np.all(np.abs(sd - scale) <= 1e-9 * sd)
        )
        if split_replicated:
            xt_train, y_train = sub, y_train[rows]
            notes.append(f"replicated bankscore's split (share {share:g}, seed {seed}): "
                         f"scikit-learn fit on the same {len(rows)} rows")
        else:
            notes.append("could not replicate bankscore's split (means/scales differ): "
                         "scikit-learn fit on all train rows, expect extra differences")
    coef_b = np.array([f["coefficient"] for f in feats])
    icpt_b = float(model["intercept"])
    z_b_valid = icpt_b + ((xt_valid - mean) / scale) @ coef_b
    p_b = sigmoid(z_b_valid)

    # scikit-learn: StandardScaler + L2 logistic regression with C = 1 / l2.
    scaler = StandardScaler().fit(xt_train)
    zs_train = scaler.transform(xt_train)
    clf = LogisticRegression(C=1.0 / a.l2, tol=1e-10, max_iter=10000, solver="lbfgs")
    clf.fit(zs_train, y_train)
    coef_s, icpt_s = clf.coef_[0], float(clf.intercept_[0])
    p_s = clf.predict_proba(scaler.transform(xt_valid))[:, 1]

    auc_b, auc_s = roc_auc_score(y_valid, p_b), roc_auc_score(y_valid, p_s)
    ll_b, ll_s = log_loss(y_valid, p_b, labels=[0, 1]), log_loss(y_valid, p_s, labels=[0, 1])
    dp = np.abs(p_b - p_s)
    dcoef = np.abs(coef_b - coef_s)
    # Standardization: mean difference in units of the scale, relative scale difference.
    dmean = np.abs(mean - scaler.mean_) / scaler.scale_
    dscale = np.abs(scale - scaler.scale_) / scaler.scale_

    # Each fit's training objective on the rows scikit-learn fit (bankscore standardized with
    # its own mean/scale): lower is better; equal when both solvers reached the same optimum.
    obj_b = objective(icpt_b + ((xt_train - mean) / scale) @ coef_b, y_train, coef_b, a.l2)
    obj_s = objective(icpt_s + zs_train @ coef_s, y_train, coef_s, a.l2)

    if a.mode == "validation-data" and meta.get("training", {}).get("train_rows") not in (None, len(y_train)):
        notes.append(f"bankscore reports {meta['training']['train_rows']} train rows but the train "
                     f"CSV has {len(y_train)}: did --validation-data train on all of --data?")

    d_auc = abs(auc_b - auc_s)
    max_dp = float(dp.max())
    failures = []
    if not d_auc <= a.auc_tol:
        failures.append(f"|AUC_bankscore - AUC_sklearn| = {d_auc:.3g} > {a.auc_tol:g}")
    if not max_dp <= a.dp_tol:
        failures.append(f"max |p_bankscore - p_sklearn| = {max_dp:.3g} > {a.dp_tol:g}")

    training = meta.get("training", {})
    result = {
        "passed": not failures,
        "failures": failures,
        "thresholds": {"max_abs_auc_diff": a.auc_tol, "max_abs_prob_diff": a.dp_tol},
        "data": {
            "train": str(a.train),
            "valid": str(a.valid),
            "label": a.label,
            "sklearn_train_rows": int(len(y_train)),
            "bankscore_train_rows": training.get("train_rows"),
            "valid_rows": int(len(y_valid)),
            "valid_churn_rate": float(y_valid.mean()),
            "features": names,
        },
        "prepared": json.loads(Path(a.prepared).read_text()) if a.prepared else None,
        "bankscore_mode": a.mode,
        "notes": notes,
        "bankscore_split_replicated": split_replicated,
        "l2": a.l2,
        "sklearn_C": 1.0 / a.l2,
        "versions": {
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "python": sys.version.split()[0],
        },
        "sklearn_n_iter": int(clf.n_iter_[0]),
        "bankscore": {"roc_auc": auc_b, "log_loss": ll_b, "train_objective": obj_b},
        "sklearn": {"roc_auc": auc_s, "log_loss": ll_s, "train_objective": obj_s},
        "bankscore_reported_metrics": meta.get("metrics"),
        "abs_auc_diff": d_auc,
        "abs_log_loss_diff": abs(ll_b - ll_s),
        "max_abs_prob_diff": max_dp,
        "mean_abs_prob_diff": float(dp.mean()),
        "max_abs_coef_diff": float(dcoef.max()),
        "abs_intercept_diff": abs(icpt_b - icpt_s),
        "max_mean_diff_in_scales": float(dmean.max()),
        "max_rel_scale_diff": float(dscale.max()),
        "coefficients": [
            {
                "feature": n,
                "transform": f["transform"],
                "bankscore": float(cb),
                "sklearn": float(cs),
                "abs_diff": float(abs(cb - cs)),
            }
            for n, f, cb, cs in zip(names, feats, coef_b, coef_s)
        ],
        "intercept": {"bankscore": icpt_b, "sklearn": icpt_s},
    }
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "parity.json").write_text(json.dumps(result, indent=2) + "\n")

    w = max(len(n) for n in names + ["(intercept)"])
    print()
    print(f"Standardized coefficients (L2 = {a.l2:g}, scikit-learn C = {1.0 / a.l2:g}):")
    print(f"  {'feature':<{w}}  {'bankscore':>12}  {'sklearn':>12}  {'|diff|':>10}")
    for n, cb, cs in zip(names, coef_b, coef_s):
        print(f"  {n:<{w}}  {cb:>12.6f}  {cs:>12.6f}  {abs(cb - cs):>10.2e}")
    print(f"  {'(intercept)':<{w}}  {icpt_b:>12.6f}  {icpt_s:>12.6f}  {abs(icpt_b - icpt_s):>10.2e}")
    print()
    print(f"Validation: {len(y_valid)} rows, churn rate {y_valid.mean():.4f}; "
          f"scikit-learn fit on {len(y_train)} rows, bankscore on "
          f"{training.get('train_rows', '?')} ({a.mode})")
    print(f"  {'metric':<28}  {'bankscore':>12}  {'sklearn':>12}  {'|diff|':>10}  threshold")
    print(f"  {'ROC AUC':<28}  {auc_b:>12.6f}  {auc_s:>12.6f}  {d_auc:>10.2e}  <= {a.auc_tol:g}")
    print(f"  {'log-loss':<28}  {ll_b:>12.6f}  {ll_s:>12.6f}  {abs(ll_b - ll_s):>10.2e}")
    print(f"  {'train objective':<28}  {obj_b:>12.4f}  {obj_s:>12.4f}  {abs(obj_b - obj_s):>10.2e}")
    print(f"  {'max |p_b - p_s|':<28}  {'':>12}  {'':>12}  {max_dp:>10.2e}  <= {a.dp_tol:g}")
    print(f"  {'mean |p_b - p_s|':<28}  {'':>12}  {'':>12}  {dp.mean():>10.2e}")
    print(f"  {'max |coef_b - coef_s|':<28}  {'':>12}  {'':>12}  {dcoef.max():>10.2e}")
    print(f"  {'|intercept_b - intercept_s|':<28}  {'':>12}  {'':>12}  {abs(icpt_b - icpt_s):>10.2e}")
    print(f"  {'max mean / scale diff (rel)':<28}  {'':>12}  {'':>12}  "
          f"{dmean.max():>10.2e} / {dscale.max():.2e}")
    for n in result["notes"]:
        print(f"note: {n}")
    print(f"wrote {out / 'parity.json'}")
    if failures:
        print("PARITY FAILED: " + "; ".join(failures))
        return 1
    print("PARITY OK")
    return 0


# ---------------------------------------------------------------------------------------------
# demo-public-csv


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

    s = sub.add_parser("prepare", help="split a public churn CSV into bankscore-ready CSVs")
    s.add_argument("--data", required=True)
    s.add_argument("--label", required=True)
    s.add_argument("--out-dir", required=True)
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--valid-share", type=float, default=0.2)
    s.set_defaults(func=cmd_prepare)

    s = sub.add_parser("add-value-columns", help="add placeholder tier columns to CSVs (in place)")
    s.add_argument("csv", nargs="+")
    s.set_defaults(func=cmd_add_value_columns)

    s = sub.add_parser("compare", help="compare bankscore's model.json with scikit-learn")
    s.add_argument("--model", required=True, help="bankscore bundle model.json")
    s.add_argument("--metadata", help="bankscore bundle metadata.json")
    s.add_argument("--train", required=True)
    s.add_argument("--valid", required=True)
    s.add_argument("--label", default="churned")
    s.add_argument("--features", help="comma-separated features bankscore was asked to use")
    s.add_argument("--l2", type=float, default=1.0)
    s.add_argument("--auc-tol", type=float, default=0.005)
    s.add_argument("--dp-tol", type=float, default=0.01)
    s.add_argument("--mode", default="validation-data")
    s.add_argument("--note", action="append")
    s.add_argument("--prepared", help="prepare.json of a prepared public CSV, copied into parity.json")
    s.add_argument("--bankscore-split", nargs=2, metavar=("SHARE", "SEED"),
                   help="bankscore held out SHARE of --train with split seed SEED")
    s.add_argument("--out-dir", required=True)
    s.set_defaults(func=cmd_compare)

    s = sub.add_parser("demo-public-csv", help="write a synthetic public-like churn CSV")
    s.add_argument("--rows", type=int, default=10000)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_demo_public_csv)

    a = p.parse_args()
    if getattr(a, "l2", 1.0) <= 0 or not math.isfinite(getattr(a, "l2", 1.0)):
        raise SystemExit("--l2 must be a finite number > 0")
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
