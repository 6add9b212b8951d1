#!/usr/bin/env bash
# bankscore's Open Inference Protocol measured side by side with the Python model servers of
# ../shared/bench/peers (MLServer, a grpcio + scikit-learn server) in one run, with h2load, at
# 1 and 1,000 rows per ModelInfer request (BENCHMARKS.md, "Open Inference Protocol").
#
#   scripts/bench_oip_peers.sh [PEER ...]     # default: mlserver mlserver_w0 grpc_sklearn
#
# bankscore serves the shipped model (--no-auth, on 127.0.0.1:$BENCH_PORT, default 18090) in
# its own process group, so the harness counts its CPU; its frames (one FP64 [N, 22] tensor in
# typed contents, all six outputs: the peers' layout with bankscore's inputs) come from
# scripts/oip_frames.py, and the harness' correctness gate is that script's check (every row
# equal to Score's answer). The harness' own knobs pass through (TARGET_S, REPEATS, CONCS,
# OUT_DIR); PEERS_DIR names the harness (default ../shared/bench/peers next to the repository);
# BANKSCORE_BIN the binary (default: the release build, built when missing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "bench_oip_peers: $*" >&2; exit 2; }
PEERS_DIR="${PEERS_DIR:-$ROOT/../shared/bench/peers}"
[[ -x "$PEERS_DIR/bench_all.sh" ]] || die "no peers harness at $PEERS_DIR (set PEERS_DIR)"
PORT="${BENCH_PORT:-18090}"
source "$ROOT/scripts/check_env.sh"
release_bin
pinned_venv "${OIP_VENV:-/tmp/bankscore-oip-venv}" "$ROOT/scripts/requirements-oip.txt"

FRAMES="$(mktemp -d /tmp/bankscore-oip-frames.XXXXXX)"
"$VENV_PY" "$ROOT/scripts/oip_frames.py" write --bin "$BIN" --root "$ROOT" --out "$FRAMES" --rows 1 1000
PIDFILE="$FRAMES/bankscore.pid"
setsid "$BIN" serve --no-auth --listen "127.0.0.1:$PORT" --models-dir "$ROOT/models" \
  >"$FRAMES/serve.log" 2>&1 </dev/null &
echo $! >"$PIDFILE"
trap 'kill -TERM -- -"$(cat "$PIDFILE")" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "bankscore serving" "$FRAMES/serve.log" && break
  sleep 0.1
done
grep -q "bankscore serving" "$FRAMES/serve.log" || die "bankscore did not start: $(cat "$FRAMES/serve.log")"

(($#)) || set -- mlserver mlserver_w0 grpc_sklearn
EXT_FRAME_DIR="$FRAMES" \
EXT_CHECK="'$VENV_PY' '$ROOT/scripts/oip_frames.py' check --root '$ROOT' --target 127.0.0.1:$PORT --frames '$FRAMES/infer_n1.bin' '$FRAMES/infer_n1000.bin'" \
  "$PEERS_DIR/bench_all.sh" "$@" "ext:bankscore:$PORT:$PIDFILE"
