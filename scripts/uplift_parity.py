#!/usr/bin/env python3
"""scikit-learn parity check of `bankscore train-uplift` (driven by scripts/uplift_parity.sh).

For the control group and every action bankscore learned (uplift/<arm>.json), fits
StandardScaler + LogisticRegression(C = 1/L2) on the same rows of the history (every row of the
arm: train-uplift ran with --validation-history), then compares on the validation history:
  per model   max |Δp| over every validation row, |ΔAUC| on the arm's own validation rows
  per action  τ = p_control − p_action on the rows bankscore's evaluation ranks (the action's and
              the control group's validation rows): max |Δτ| and the Spearman correlation of the
              two τ rankings
Prints a table, writes uplift_parity.json, exits 1 when parity fails and 2 on a setup error.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sklearn_parity import load_xy_and  # noqa: E402  (the same feature transforms)

CONTROL = "control"
ACTION = "action"
OUTCOME = "churned"


def die(msg: str) -> None:
    print(f"uplift_parity: {msg}", file=sys.stderr)
    sys.exit(2)


def read_model(path: Path) -> dict:
    model = json.loads(path.read_text())
    if model.get("kind") != "logistic_regression":
        die(f"{path}: kind `{model.get('kind')}` is not logistic_regression")
    feats = model["features"]
    return {
        "features": feats,
        "mean": np.array([f["mean"] for f in feats]),
        "scale": np.array([f["scale"] for f in feats]),
        "coef": np.array([f["coefficient"] for f in feats]),
        "intercept": float(model["intercept"]),
    }


def bankscore_probability(model: dict, x: np.ndarray) -> np.ndarray:
    """bankscore's churn probability, from its model file alone."""
    from scipy.special import expit

    return expit(model["intercept"] + ((x - model["mean"]) / model["scale"]) @ model["coef"])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--uplift-dir", required=True, help="the new bundle's uplift/ folder")
    p.add_argument("--history", required=True, help="the campaign history train-uplift fitted")
    p.add_argument("--valid", required=True, help="the validation history it was evaluated on")
    p.add_argument("--l2", type=float, default=1.0)
    p.add_argument("--auc-tol", type=float, default=0.005)
    p.add_argument("--dp-tol", type=float, default=0.01)
    p.add_argument("--tau-tol", type=float, default=0.01)
    p.add_argument("--spearman-min", type=float, default=0.999)
    p.add_argument("--out-dir", required=True)
    a = p.parse_args()
    if not (np.isfinite(a.l2) and a.l2 > 0):
        die("--l2 must be a finite number > 0")

    import sklearn
    from scipy.stats import spearmanr
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    uplift = Path(a.uplift_dir)
    report = json.loads((uplift / "evaluation.json").read_text())
    training = report["training"]
    if training.get("validation") != Path(a.valid).name:
        die(f"evaluation.json says validation `{training.get('validation')}`, not {Path(a.valid).name}: "
            "run train-uplift with --validation-history")
    if not np.isclose(training["l2"], a.l2):
        die(f"evaluation.json says L2 {training['l2']}, the check uses {a.l2}")
    actions = {u["action"]: u for u in report["actions"]}
    learned = [name for name, u in actions.items() if u["uplift"] == "learned"]
    if not learned:
        die("evaluation.json lists no learned action")
    models = {arm: read_model(uplift / f"{arm}.json") for arm in [CONTROL, *learned]}
    feats = models[CONTROL]["features"]
    signature = [(f["name"], f["transform"]) for f in feats]
    for arm, m in models.items():
        if [(f["name"], f["transform"]) for f in m["features"]] != signature:
            die(f"uplift/{arm}.json's features differ from uplift/control.json's")

    x_h, y_h, other = load_xy_and(a.history, feats, OUTCOME, [ACTION])
    arm_h = other[ACTION].astype(str).str.strip().to_numpy()
    x_v, y_v, other = load_xy_and(a.valid, feats, OUTCOME, [ACTION])
    arm_v = other[ACTION].astype(str).str.strip().to_numpy()
    expected_rows = {CONTROL: report["history"]["control_rows"],
                     **{name: actions[name]["treated_rows"] for name in learned}}
    if len(y_h) != report["history"]["rows"]:
        die(f"bankscore reports {report['history']['rows']} history rows, {a.history} has {len(y_h)}")

    results: dict[str, dict] = {}
    p_bankscore: dict[str, np.ndarray] = {}
    p_sklearn: dict[str, np.ndarray] = {}
    for arm, model in models.items():
        fit_rows = arm_h == arm
        if fit_rows.sum() != expected_rows[arm]:
            die(f"`{arm}`: bankscore reports {expected_rows[arm]} rows, the history has {fit_rows.sum()}")
        x, y = x_h[fit_rows], y_h[fit_rows]
        scaler = StandardScaler().fit(x)
        clf = LogisticRegression(C=1.0 / a.l2, tol=1e-10, max_iter=10000, solver="lbfgs")
        clf.fit(scaler.transform(x), y)
        p_b = bankscore_probability(model, x_v)
        p_s = clf.predict_proba(scaler.transform(x_v))[:, 1]
        p_bankscore[arm], p_sklearn[arm] = p_b, p_s
        own = arm_v == arm
        auc_b, auc_s = roc_auc_score(y_v[own], p_b[own]), roc_auc_score(y_v[own], p_s[own])

        def objective(icpt, coef, z):  # Σ log-loss + ½·L2·‖w‖² on the arm's rows
            s = icpt + z @ coef
            return float(np.logaddexp(0.0, np.where(y == 1, -s, s)).sum() + 0.5 * a.l2 * coef @ coef)

        results[arm] = {
            "fit_rows": int(fit_rows.sum()),
            "fit_churn_rate": float(y.mean()),
            "validation_rows": int(own.sum()),
            "max_abs_prob_diff": float(np.abs(p_b - p_s).max()),
            "mean_abs_prob_diff": float(np.abs(p_b - p_s).mean()),
            "bankscore_roc_auc": float(auc_b),
            "sklearn_roc_auc": float(auc_s),
            "abs_auc_diff": float(abs(auc_b - auc_s)),
            "max_abs_coef_diff": float(np.abs(model["coef"] - clf.coef_[0]).max()),
            "abs_intercept_diff": float(abs(model["intercept"] - clf.intercept_[0])),
            "bankscore_train_objective": objective(
                model["intercept"], model["coef"], (x - model["mean"]) / model["scale"]),
            "sklearn_train_objective": objective(
                float(clf.intercept_[0]), clf.coef_[0], scaler.transform(x)),
            "sklearn_n_iter": int(clf.n_iter_[0]),
        }

    failures = []
    for arm, r in results.items():
        if not r["max_abs_prob_diff"] <= a.dp_tol:
            failures.append(f"`{arm}`: max |Δp| = {r['max_abs_prob_diff']:.3g} > {a.dp_tol:g}")
        if not r["abs_auc_diff"] <= a.auc_tol:
            failures.append(f"`{arm}`: |ΔAUC| = {r['abs_auc_diff']:.3g} > {a.auc_tol:g}")
    for name in learned:
        ranked = (arm_v == name) | (arm_v == CONTROL)
        evaluation = actions[name]["evaluation"]
        if (evaluation["treated_rows"], evaluation["control_rows"]) != (
                int((arm_v == name).sum()), int((arm_v == CONTROL).sum())):
            die(f"`{name}`: bankscore evaluated {evaluation['treated_rows']} treated and "
                f"{evaluation['control_rows']} control rows, not the validation history's")
        tau_b = (p_bankscore[CONTROL] - p_bankscore[name])[ranked]
        tau_s = (p_sklearn[CONTROL] - p_sklearn[name])[ranked]
        r = results[name]
        r["tau_rows"] = int(ranked.sum())
        r["max_abs_tau_diff"] = float(np.abs(tau_b - tau_s).max())
        r["tau_spearman"] = float(spearmanr(tau_b, tau_s).statistic)
        r["bankscore_mean_tau"] = float(tau_b.mean())
        r["sklearn_mean_tau"] = float(tau_s.mean())
        r["bankscore_qini"] = evaluation["qini_coefficient"]
        if not r["max_abs_tau_diff"] <= a.tau_tol:
            failures.append(f"`{name}`: max |Δτ| = {r['max_abs_tau_diff']:.3g} > {a.tau_tol:g}")
        if not r["tau_spearman"] >= a.spearman_min:
            failures.append(f"`{name}`: Spearman of the τ rankings = {r['tau_spearman']:.6f} "
                            f"< {a.spearman_min:g}")

    out = Path(a.out_dir) / "uplift_parity.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "passed": not failures,
        "failures": failures,
        "thresholds": {"max_abs_prob_diff": a.dp_tol, "max_abs_auc_diff": a.auc_tol,
                       "max_abs_tau_diff": a.tau_tol, "min_tau_spearman": a.spearman_min},
        "data": {"history": a.history, "valid": a.valid, "history_rows": len(y_h),
                 "valid_rows": len(y_v), "features": [n for n, _ in signature]},
        "l2": a.l2,
        "sklearn_C": 1.0 / a.l2,
        "prior_actions": [n for n, u in actions.items() if u["uplift"] != "learned"],
        "versions": {"sklearn": sklearn.__version__, "numpy": np.__version__,
                     "python": sys.version.split()[0]},
        "models": results,
    }, indent=2) + "\n")

    print(f"\nUplift models (L2 = {a.l2:g}, scikit-learn C = {1.0 / a.l2:g}): fitted on each arm of "
          f"{Path(a.history).name} ({len(y_h)} rows), compared on {Path(a.valid).name} ({len(y_v)} rows)")
    w = max(len(n) for n in results)
    print(f"  {'model':<{w}}  {'fit rows':>8}  {'max |Δp|':>9}  {'AUC bankscore':>13}  {'AUC sklearn':>11}  "
          f"{'|ΔAUC|':>8}  {'τ rows':>6}  {'mean τ':>7}  {'max |Δτ|':>9}  {'Spearman τ':>10}")
    for arm, r in results.items():
        tau = (f"{r['tau_rows']:>6}  {r['bankscore_mean_tau']:>+7.4f}  {r['max_abs_tau_diff']:>9.2e}  "
               f"{r['tau_spearman']:>10.6f}") if arm != CONTROL else f"{'':>6}  {'':>7}  {'':>9}  {'':>10}"
        print(f"  {arm:<{w}}  {r['fit_rows']:>8}  {r['max_abs_prob_diff']:>9.2e}  {r['bankscore_roc_auc']:>13.6f}  "
              f"{r['sklearn_roc_auc']:>11.6f}  {r['abs_auc_diff']:>8.2e}  {tau}".rstrip())
    prior = [n for n, u in actions.items() if u["uplift"] != "learned"]
    if prior:
        print(f"  catalog prior kept (not compared): {', '.join(prior)}")
    print(f"  thresholds: max |Δp| <= {a.dp_tol:g}, |ΔAUC| <= {a.auc_tol:g}, max |Δτ| <= {a.tau_tol:g}, "
          f"Spearman τ >= {a.spearman_min:g}")
    print(f"wrote {out}")
    if failures:
        print("UPLIFT PARITY FAILED: " + "; ".join(failures))
        return 1
    print("UPLIFT PARITY OK")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except Exception:  # setup errors (bad files, bad values) exit 2, not 1 (parity failed)
        traceback.print_exc()
        sys.exit(2)
