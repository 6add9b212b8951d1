# Shared set-up of the scikit-learn parity checks (sourced by sklearn_parity.sh and
# uplift_parity.sh): the bankscore binary and the Python venv from the pinned requirements.
#
# Sets BIN and PARITY_PY. Environment: BANKSCORE_BIN (else the release binary of
# $CARGO_TARGET_DIR or target/, built if missing), PARITY_VENV (/tmp/bankscore-parity-venv),
# PARITY_PYTHON (python3.11, else python3). Callers define `die` and `ROOT`.

# The release binary, built when it is missing and no BANKSCORE_BIN was given.
source "$ROOT/scripts/check_env.sh"
release_bin

# Python venv from the pinned requirements (reinstalled only when that file changes).
pinned_venv "${PARITY_VENV:-/tmp/bankscore-parity-venv}" "$ROOT/scripts/requirements-parity.txt"
PARITY_PY="$VENV_PY"
