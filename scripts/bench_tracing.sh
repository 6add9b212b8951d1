#!/usr/bin/env bash
# The cost of OpenTelemetry tracing on unary Score (BENCHMARKS.md, "Tracing cost"): the same
# loadgen run against a server with export off, one exporting every call's spans and one
# exporting 10% of the traces (tracing.sample_ratio = 0.1) to an OTLP/gRPC sink
# (examples/otlp_sink.rs), alternating, ROUNDS rounds (default 3).
#
# Environment: ROUNDS (3), DURATION (8s), CONCURRENCY (16), BANKSCORE_BIN (the release build).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cargo build --release --locked --quiet --example otlp_sink </dev/null
BIN="${BANKSCORE_BIN:-target/release/bankscore}"
[[ -x "$BIN" ]] || cargo build --release --locked --quiet </dev/null
WORK="$(mktemp -d /tmp/bankscore-tracing-bench.XXXXXX)"
cleanup() { kill -TERM $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
target/release/examples/otlp_sink 127.0.0.1:14317 >"$WORK/sink.out" 2>"$WORK/sink.err" &
SINK=$!

serve() { # name, extra env...
  local name=$1; shift
  env "$@" "$BIN" serve --no-auth --listen 127.0.0.1:0 --watch-poll 0s >"$WORK/$name.log" 2>&1 &
  echo $! >"$WORK/$name.pid"
  for _ in $(seq 1 100); do
    grep -q "bankscore serving" "$WORK/$name.log" && break
    sleep 0.1
  done
  sed -n 's/.*bankscore serving address=\([0-9.:]*\).*/\1/p' "$WORK/$name.log"
}
OFF=$(serve off)
ON=$(serve on BANKSCORE_TRACING_OTLP_ENDPOINT=http://127.0.0.1:14317)
TENTH=$(serve tenth BANKSCORE_TRACING_OTLP_ENDPOINT=http://127.0.0.1:14317 BANKSCORE_TRACING_SAMPLE_RATIO=0.1)
echo "off: $OFF   on: $ON   on, 10% sampled: $TENTH (exporting to 127.0.0.1:14317)"
for round in $(seq 1 "${ROUNDS:-3}"); do
  for mode in off on tenth; do
    case $mode in off) addr=$OFF ;; on) addr=$ON ;; tenth) addr=$TENTH ;; esac
    printf 'round %s %-5s ' "$round" "$mode"
    "$BIN" loadgen --target "http://$addr" --duration "${DURATION:-8s}" --warmup 2s \
      --concurrency "${CONCURRENCY:-16}" 2>&1 | grep -E "throughput|latency" | tr '\n' ' '
    echo
  done
done
kill -TERM "$(cat "$WORK/off.pid")" "$(cat "$WORK/on.pid")" "$(cat "$WORK/tenth.pid")"
# The exporting server sends its last spans as it stops; give it time before the sink's count.
for _ in $(seq 1 100); do
  kill -0 "$(cat "$WORK/on.pid")" 2>/dev/null || break
  sleep 0.1
done
kill -TERM "$SINK"; wait "$SINK" || true
cat "$WORK/sink.out"
