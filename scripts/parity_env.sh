# Shared set-up of the scikit-learn parity checks (sourced by sklearn_parity.sh and
# uplift_parity.sh): the bankscore binary and the Python venv from the pinned requirements.
#
# Sets BIN and PARITY_PY. Environment: BANKSCORE_BIN (else the release binary of
# $CARGO_TARGET_DIR or target/, built if missing), PARITY_VENV (/tmp/bankscore-parity-venv),
# PARITY_PYTHON (python3.11, else python3). Callers define `die` and `ROOT`.

# The release binary, built when it is missing and no BANKSCORE_BIN was given.
BIN="${BANKSCORE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/bankscore}"
if [[ -z "${BANKSCORE_BIN:-}" && ! -x "$BIN" ]]; then
  (cd "$ROOT" && cargo build --release --locked) >&2 || die "cargo build failed"
fi
[[ -x "$BIN" ]] || die "$BIN is not an executable"

# Python venv from the pinned requirements (reinstalled only when that file changes).
source "$ROOT/scripts/pinned_venv.sh"
pinned_venv "${PARITY_VENV:-/tmp/bankscore-parity-venv}" "$ROOT/scripts/requirements-parity.txt"
PARITY_PY="$VENV_PY"
