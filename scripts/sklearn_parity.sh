#!/usr/bin/env bash
# scikit-learn parity check of `bankscore train` (details: scripts/README.md).
#
#   scripts/sklearn_parity.sh                 # synthetic: bankscore generate, 200k seed 1 / 50k seed 2
#   scripts/sklearn_parity.sh DATA.csv LABEL  # any churn CSV (e.g. a public one, label Exited), split 80/20
#
# bankscore (train --validation-data) and scikit-learn (StandardScaler + LogisticRegression,
# C = 1/L2) fit the same rows; bankscore's probabilities are recomputed from its model.json.
# Exit 1 when, on the validation rows, |ΔAUC| > PARITY_AUC_TOL (0.005) or max |Δp| >
# PARITY_DP_TOL (0.01); exit 2 on a setup or training error.
#
# Environment: BANKSCORE_BIN (the release binary of $CARGO_TARGET_DIR or target/, built if
# missing), L2 (1.0), OUT_DIR (/tmp/bankscore-parity), PARITY_VENV (/tmp/bankscore-parity-venv),
# PARITY_PYTHON (python3.11, else python3), PARITY_SEED (80/20 split seed, 42), TRAIN_ROWS /
# VALID_ROWS (200000 / 50000).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPTS="$ROOT/scripts"
L2="${L2:-1.0}"
OUT_DIR="${OUT_DIR:-/tmp/bankscore-parity}"

die() { echo "sklearn_parity: $*" >&2; exit 2; }
[[ $# -eq 0 || $# -eq 2 ]] || die "usage: $0 [DATA.csv LABEL]"
# BIN (built if missing) and the venv's PARITY_PY.
source "$SCRIPTS/parity_env.sh"
PARITY=("$PARITY_PY" "$SCRIPTS/sklearn_parity.py")

# Data.
DATA_DIR="$OUT_DIR/data"
mkdir -p "$DATA_DIR"
feat=()
prepared=()
if [[ $# -eq 0 ]]; then
  LABEL=churned
  TRAIN="$DATA_DIR/synthetic_train.csv"
  VALID="$DATA_DIR/synthetic_valid.csv"
  "$BIN" generate --rows "${TRAIN_ROWS:-200000}" --seed 1 --out "$TRAIN" >&2 || die "bankscore generate failed"
  "$BIN" generate --rows "${VALID_ROWS:-50000}" --seed 2 --out "$VALID" >&2 || die "bankscore generate failed"
else
  LABEL="$2"
  TRAIN="$DATA_DIR/train.csv"
  VALID="$DATA_DIR/valid.csv"
  "${PARITY[@]}" prepare --data "$1" --label "$LABEL" --out-dir "$DATA_DIR" --seed "${PARITY_SEED:-42}" \
    || die "cannot prepare $1"
  feat=(--features "$(cat "$DATA_DIR/features.txt")")
  prepared=(--prepared "$DATA_DIR/prepare.json")
fi

# bankscore train; without the columns tier cut-offs are computed from, a fixed tier policy.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bankscore-parity-bundle.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
BUNDLE="$WORK/models/parity/v1"
args=(train --data "$TRAIN" --validation-data "$VALID" --out "$BUNDLE" --label "$LABEL" --l2 "$L2"
  "${feat[@]}")
IFS=, read -r -a header <"$TRAIN"
for c in annual_margin referrals_12m days_since_last_activity; do
  if [[ ! " ${header[*]} " == *" $c "* ]]; then
    args+=(--tier-policy "$SCRIPTS/parity_tier_policy.toml")
    break
  fi
done
echo "+ bankscore ${args[*]}" >&2
"$BIN" "${args[@]}" >&2 || die "bankscore train failed"
cp "$BUNDLE/model.json" "$OUT_DIR/bankscore_model.json"
cp "$BUNDLE/metadata.json" "$OUT_DIR/bankscore_metadata.json"

# Compare (exit 0 parity OK, 1 parity failed, 2 error).
"${PARITY[@]}" compare --model "$BUNDLE/model.json" --metadata "$BUNDLE/metadata.json" \
  --train "$TRAIN" --valid "$VALID" --label "$LABEL" --l2 "$L2" "${feat[@]}" "${prepared[@]}" \
  --auc-tol "${PARITY_AUC_TOL:-0.005}" --dp-tol "${PARITY_DP_TOL:-0.01}" --out-dir "$OUT_DIR"
