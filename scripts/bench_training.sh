#!/usr/bin/env bash
# `bankscore train` against scikit-learn's lbfgs on the same rows, alternating, in one run
# (details in scripts/bench_training.py; the venv of the parity checks).
#
#   scripts/bench_training.sh                        # 1,000,000 rows (800,000 fitted), 3 rounds
#   ROWS=10000000 ROUNDS=1 scripts/bench_training.sh # 10 million
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "bench_training: $*" >&2; exit 2; }
source "$ROOT/scripts/parity_env.sh"
exec "$PARITY_PY" "$ROOT/scripts/bench_training.py" --bin "$BIN" --rows "${ROWS:-1000000}" \
  --seed "${SEED:-11}" --rounds "${ROUNDS:-3}" --work "${WORK:-/tmp/bankscore-bench-training}"
