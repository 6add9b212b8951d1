#!/usr/bin/env bash
# scikit-learn parity check of `bankscore train-uplift` (details: scripts/README.md).
#
#   scripts/uplift_parity.sh
#
# Generates a campaign history (200k rows, seed 1) and a validation history (50k rows, seed 2),
# runs `train-uplift --validation-history` on a copy of models/churn/v1, then fits scikit-learn
# (StandardScaler + LogisticRegression, C = 1/L2) on the same rows of every arm bankscore learned
# (the control group and each learned action) and compares them on the validation history.
# Exit 1 when, for a model, |ΔAUC| > PARITY_AUC_TOL (0.005) or max |Δp| > PARITY_DP_TOL (0.01),
# or, for an action, max |Δτ| > PARITY_TAU_TOL (0.01) or the Spearman correlation of the two
# τ rankings < PARITY_SPEARMAN_MIN (0.999); exit 2 on a setup or training error.
#
# Environment: as sklearn_parity.sh (BANKSCORE_BIN, L2, PARITY_VENV, PARITY_PYTHON), OUT_DIR
# (/tmp/bankscore-uplift-parity), HISTORY_ROWS / VALID_ROWS (200000 / 50000).
set -euo pipefail
STARTED=$SECONDS

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPTS="$ROOT/scripts"
L2="${L2:-1.0}"
OUT_DIR="${OUT_DIR:-/tmp/bankscore-uplift-parity}"

die() { echo "uplift_parity: $*" >&2; exit 2; }
[[ $# -eq 0 ]] || die "usage: $0 (no arguments; see the environment variables in its header)"
# BIN (built if missing) and the venv's PARITY_PY.
source "$SCRIPTS/parity_env.sh"

# Data: the history bankscore and scikit-learn fit, and the validation history they are compared on.
DATA_DIR="$OUT_DIR/data"
mkdir -p "$DATA_DIR"
HISTORY="$DATA_DIR/history.csv"
VALID="$DATA_DIR/validation_history.csv"
"$BIN" generate --campaign-history --rows "${HISTORY_ROWS:-200000}" --seed 1 --out "$HISTORY" >&2 \
  || die "bankscore generate failed"
"$BIN" generate --campaign-history --rows "${VALID_ROWS:-50000}" --seed 2 --out "$VALID" >&2 \
  || die "bankscore generate failed"

# bankscore train-uplift on a copy of the shipped bundle (the repository is left as it is).
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bankscore-uplift-parity.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/models/churn"
cp -a "$ROOT/models/churn/v1" "$WORK/models/churn/v1"
BUNDLE="$WORK/models/churn/v2"
args=(train-uplift --bundle "$WORK/models/churn/v1" --history "$HISTORY" --validation-history "$VALID"
  --out "$BUNDLE" --l2 "$L2")
echo "+ bankscore ${args[*]}" >&2
TRAIN_STARTED=$SECONDS
"$BIN" "${args[@]}" >&2 || die "bankscore train-uplift failed"
TRAIN_SECONDS=$((SECONDS - TRAIN_STARTED))
rm -rf "$OUT_DIR/bankscore_uplift"
cp -a "$BUNDLE/uplift" "$OUT_DIR/bankscore_uplift"

# Compare (exit 0 parity OK, 1 parity failed, 2 error).
rc=0
"$PARITY_PY" "$SCRIPTS/uplift_parity.py" --uplift-dir "$BUNDLE/uplift" \
  --history "$HISTORY" --valid "$VALID" --l2 "$L2" \
  --auc-tol "${PARITY_AUC_TOL:-0.005}" --dp-tol "${PARITY_DP_TOL:-0.01}" \
  --tau-tol "${PARITY_TAU_TOL:-0.01}" --spearman-min "${PARITY_SPEARMAN_MIN:-0.999}" \
  --out-dir "$OUT_DIR" || rc=$?
echo "uplift parity check: $((SECONDS - STARTED)) s in all (bankscore train-uplift ${TRAIN_SECONDS} s)"
exit "$rc"
