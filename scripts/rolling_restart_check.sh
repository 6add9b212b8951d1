#!/usr/bin/env bash
# A rolling restart of 3 replicas under unary and ScoreStream load, with grpcio round-robin over
# a static address list (details in scripts/rolling_restart_check.py): 0 failed calls, every
# record answered once. Uses the venv of scripts/requirements-oip.txt (grpcio, grpcio-tools);
# prints its own run time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "rolling_restart_check: $*" >&2; exit 2; }
start=$SECONDS
BIN="${BANKSCORE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/bankscore}"
if [[ -z "${BANKSCORE_BIN:-}" && ! -x "$BIN" ]]; then
  (cd "$ROOT" && cargo build --release --locked) >&2 || die "cargo build failed"
fi
source "$ROOT/scripts/pinned_venv.sh"
pinned_venv "${OIP_VENV:-/tmp/bankscore-oip-venv}" "$ROOT/scripts/requirements-oip.txt"
status=0
export GRPC_VERBOSITY="${GRPC_VERBOSITY:-ERROR}"  # no info lines for each GOAWAY
timeout 300 "$VENV_PY" "$ROOT/scripts/rolling_restart_check.py" --bin "$BIN" --root "$ROOT" </dev/null || status=$?
echo "rolling restart check: $((SECONDS - start)) s"
exit "$status"
