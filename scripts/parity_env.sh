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
VENV="${PARITY_VENV:-/tmp/bankscore-parity-venv}"
REQ="$ROOT/scripts/requirements-parity.txt"
if [[ ! -x "$VENV/bin/python" ]]; then
  PY="${PARITY_PYTHON:-$(command -v python3.11 || echo python3)}"
  echo "creating venv $VENV with $PY" >&2
  "$PY" -m venv "$VENV" || die "cannot create a venv with $PY"
fi
STAMP="$VENV/.bankscore-parity-requirements.sha256"
WANT="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]]; then
  echo "installing $REQ into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ" || die "pip install failed"
  echo "$WANT" >"$STAMP"
fi
PARITY_PY="$VENV/bin/python"
