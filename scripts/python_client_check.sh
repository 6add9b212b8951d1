#!/usr/bin/env bash
# Check of the Python client (clients/python): builds it, generating its gRPC stubs from
# proto/bankscore/v1/*.proto, into a venv of the pinned requirements
# (scripts/requirements-python-client.txt), then runs its tests (pytest) against a real
# `bankscore serve` that the tests start on 127.0.0.1:0.
#
#   scripts/python_client_check.sh                # everything
#   scripts/python_client_check.sh -k stream      # arguments go to pytest
#
# Environment: BANKSCORE_BIN (else the release binary of $CARGO_TARGET_DIR or target/, built if
# missing), PYCLIENT_VENV (/tmp/bankscore-pyclient-venv; reinstalled when the requirements file
# changes), PYCLIENT_PYTHON (python3.11, else python3), PYCLIENT_TIMEOUT (pytest's limit, 900 s).
# Exit status: pytest's (0 when every test passed), 2 on a set-up error.
set -euo pipefail

START=$SECONDS
trap 'echo "python client check: $((SECONDS - START)) s"' EXIT
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLIENT="$ROOT/clients/python"
die() { echo "python_client_check: $*" >&2; exit 2; }
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

# The release binary, built when it is missing and no BANKSCORE_BIN was given.
source "$ROOT/scripts/check_env.sh"
release_bin
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

# The venv of the pinned requirements (reinstalled only when that file changes).
PARITY_PYTHON="${PYCLIENT_PYTHON:-${PARITY_PYTHON:-}}" \
  pinned_venv "${PYCLIENT_VENV:-/tmp/bankscore-pyclient-venv}" "$ROOT/scripts/requirements-python-client.txt"
PYTHON="$VENV_PY"

# The client, built with the venv's pinned grpcio-tools (plain `pip install ./clients/python`
# works too: it fetches the [build-system] pins into an isolated build environment).
"$PYTHON" -m pip install --quiet --no-build-isolation --no-deps --force-reinstall "$CLIENT" \
  || die "pip install $CLIENT failed"
"$PYTHON" -m pip check >&2 || die "the pinned requirements do not satisfy the client's dependencies"

# The tests, from the client's directory, against the installed package.
cd "$CLIENT"
set +e
BANKSCORE_BIN="$BIN" timeout --signal=INT --kill-after=30 "${PYCLIENT_TIMEOUT:-900}" \
  "$PYTHON" -m pytest -p no:cacheprovider -q "$@" </dev/null
STATUS=$?
set -e
[[ $STATUS -eq 124 ]] && echo "python_client_check: pytest ran over ${PYCLIENT_TIMEOUT:-900} s" >&2
[[ $STATUS -eq 5 ]] && echo "python_client_check: pytest ran no test" >&2
exit "$STATUS"
