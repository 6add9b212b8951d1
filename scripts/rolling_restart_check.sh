#!/usr/bin/env bash
# A rolling restart of 3 replicas under unary and ScoreStream load, with grpcio round-robin over
# a static address list (details in scripts/rolling_restart_check.py): 0 failed calls, every
# record answered once. Uses the venv of scripts/requirements-oip.txt (grpcio, grpcio-tools);
# prints its own run time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "rolling_restart_check: $*" >&2; exit 2; }
start=$SECONDS
source "$ROOT/scripts/check_env.sh"
release_bin
pinned_venv "${OIP_VENV:-/tmp/bankscore-oip-venv}" "$ROOT/scripts/requirements-oip.txt"
status=0
export GRPC_VERBOSITY="${GRPC_VERBOSITY:-ERROR}"  # no info lines for each GOAWAY
timeout 300 "$VENV_PY" "$ROOT/scripts/rolling_restart_check.py" --bin "$BIN" --root "$ROOT" </dev/null || status=$?
echo "rolling restart check: $((SECONDS - start)) s"
exit "$status"
