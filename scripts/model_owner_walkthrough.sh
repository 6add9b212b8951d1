#!/usr/bin/env bash
# The model owner's loop, end to end, while a load generator runs against the server:
# train a new version → read its card → validate → shadow it → promote it → roll back →
# change the action catalog in a new version → drop in a broken bundle. Fails if any request
# fails or a step does not take effect.
#
#   scripts/model_owner_walkthrough.sh            # work directory /tmp/bankscore-walkthrough
#
# Uses target/release/bankscore (built if missing) and port 50061 on 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
B="${BANKSCORE_BIN:-$ROOT/target/release/bankscore}"
[[ -x $B ]] || (cd "$ROOT" && cargo build --release --quiet)
WORK="${WORK_DIR:-/tmp/bankscore-walkthrough}"
ADDR=127.0.0.1:50061
T=http://$ADDR
rm -rf "$WORK" && mkdir -p "$WORK/models/churn" && cd "$WORK"
cp -r "$ROOT/models/churn/v1" models/churn/

"$B" serve --no-auth --models-dir models --listen $ADDR --worker-threads 1 --watch-poll 500ms --watch-debounce 1s > serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER ${LOAD:-} 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -qs "bankscore serving" serve.log && break; sleep 0.1; done
"$B" loadgen --target $T --concurrency 16 --duration 40s --warmup 1s > loadgen.txt 2>&1 &
LOAD=$!

step() { echo; echo "== $*"; }
wait_for() { # wait_for PATTERN: poll `bankscore models` until it matches (at most 20 s)
  for _ in $(seq 1 40); do "$B" models --target $T | grep -q "$1" && return 0; sleep 0.5; done
  echo "timed out waiting for: $1" >&2; "$B" models --target $T >&2; exit 1
}

step "pin the live version, so a new bundle is staged rather than promoted on arrival"
"$B" deploy --models-dir models --model churn --champion v1

step "train v2 on fresh data"
"$B" generate --rows 200000 --seed 43 --out fresh.csv
# Into a file, then shown: piped into `head`, train could write after head has exited (EPIPE).
"$B" train --data fresh.csv --l2 0.5 --out models/churn/v2 > train.txt 2> train.log
head -3 train.txt
step "read its model card"; sed -n '1,12p' models/churn/v2/MODEL_CARD.md
step "validate it"; "$B" validate models/churn/v2
step "shadow v2 against the champion v1"
"$B" deploy --models-dir models --model churn --champion v1 --challenger v2
wait_for "v2 *challenger"; sleep 3; "$B" models --target $T
step "promote v2"
"$B" deploy --models-dir models --model churn --champion v2 --no-challenger
wait_for "v2 *champion"; "$B" models --target $T
step "roll back to v1"
"$B" deploy --models-dir models --model churn --champion v1
wait_for "v1 *champion"; "$B" models --target $T
step "change the action catalog as docs/model-owners.md says: a new version v4, resealed and validated"
cp -r models/churn/v2 models/churn/.v4.tmp
sed -i '0,/^cost = 80.0$/s//cost = 90.0/' models/churn/.v4.tmp/actions.toml
"$B" reseal models/churn/.v4.tmp
"$B" validate models/churn/.v4.tmp
mv models/churn/.v4.tmp models/churn/v4
wait_for "v4 *available"; "$B" models --target $T

step "a broken bundle (a golden example edited, checksums resealed) is refused; v1 keeps serving"
mkdir models/churn/.v3.tmp && cp models/churn/v2/* models/churn/.v3.tmp/
# The first recorded probability 0.x becomes 0.9x: valid JSON that the model does not reproduce.
sed -i '0,/"churn_probability": 0\./s//"churn_probability": 0.9/' models/churn/.v3.tmp/golden.json
if cmp -s models/churn/v2/golden.json models/churn/.v3.tmp/golden.json; then echo "golden.json not edited" >&2; exit 1; fi
"$B" reseal models/churn/.v3.tmp
# The checksums now pass, so it is the golden-example check that refuses the bundle.
if "$B" validate models/churn/.v3.tmp 2> v3.err; then echo "validate accepted a broken bundle" >&2; exit 1; fi
grep "does not reproduce" v3.err
mv models/churn/.v3.tmp models/churn/v3
wait_for "v3 *rejected"; "$B" models --target $T
"$B" models --target $T | grep -q "does not reproduce"

step "load generator (ran through all of the above)"
wait $LOAD || { cat loadgen.txt; echo "requests failed" >&2; exit 1; }
cat loadgen.txt
grep -q " 0 failed" loadgen.txt
grep -c "models reloaded" serve.log | xargs echo "reloads applied:"
