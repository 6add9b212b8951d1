#!/usr/bin/env bash
# The Spark job of clients/spark (PySpark local[2]) against 2 real replicas and a dead target, on
# 100,000 generated customers, checked row by row against `bankscore score` (details in
# scripts/spark_check.py). Installs OpenJDK 17 from Debian when no java is on the PATH (as root),
# and PySpark with the Python client into a venv of scripts/requirements-spark.txt; prints its
# own run time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "spark_check: $*" >&2; exit 2; }
start=$SECONDS
source "$ROOT/scripts/check_env.sh"
release_bin
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
if ! command -v java >/dev/null; then
  [[ $(id -u) -eq 0 ]] || die "no java on the PATH, and installing OpenJDK 17 needs root"
  echo "installing OpenJDK 17 from Debian" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless >/dev/null \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y --no-install-recommends openjdk-17-jre-headless >/dev/null; } \
    || die "apt-get install openjdk-17-jre-headless failed"
fi
java -version 2>&1 | grep -q 'version "\(17\|21\)' || die "PySpark 4 needs Java 17 or 21: $(java -version 2>&1 | head -1)"
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
pinned_venv "${SPARK_VENV:-/tmp/bankscore-spark-venv}" "$ROOT/scripts/requirements-spark.txt"
"$VENV_PY" -m pip install --quiet --no-build-isolation --no-deps --force-reinstall "$ROOT/clients/python" \
  || die "pip install clients/python failed"
status=0
timeout 900 "$VENV_PY" "$ROOT/scripts/spark_check.py" --bin "$BIN" --root "$ROOT" "$@" </dev/null || status=$?
echo "spark check: $((SECONDS - start)) s"
exit "$status"
