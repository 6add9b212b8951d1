#!/usr/bin/env bash
# The Open Inference Protocol through clients bankscore did not write: tritonclient[grpc] and a
# grpcio client (stubs from proto/ by grpcio-tools), against the real server (details in
# scripts/oip_clients_check.py). Creates its venv from scripts/requirements-oip.txt on first
# use; prints its own run time.
#
# Environment: BANKSCORE_BIN (else the release binary, built if missing), OIP_VENV
# (/tmp/bankscore-oip-venv), PARITY_PYTHON (python3.11, else python3), OIP_ROWS (300).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "oip_clients_check: $*" >&2; exit 2; }
start=$SECONDS
source "$ROOT/scripts/check_env.sh"
release_bin
pinned_venv "${OIP_VENV:-/tmp/bankscore-oip-venv}" "$ROOT/scripts/requirements-oip.txt"
status=0
"$VENV_PY" "$ROOT/scripts/oip_clients_check.py" --bin "$BIN" --root "$ROOT" --rows "${OIP_ROWS:-300}" </dev/null || status=$?
echo "oip clients check: $((SECONDS - start)) s"
exit "$status"
