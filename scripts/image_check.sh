#!/usr/bin/env bash
# Builds the container image from the Containerfile with buildah (no daemon, no registry) and
# runs it twice, as a container runtime would (the image's user, environment, entrypoint and
# command; SIGTERM to the server):
#   1. as built: baked settings and model, a setting from an environment variable; the image's
#      own HEALTHCHECK command says SERVING, one Score answers, SIGTERM exits 0;
#   2. with settings (tokens) and models mounted: a call without a token is refused, one with it
#      answers, a version dropped into the mounted models is loaded without a restart, SIGTERM
#      exits 0.
# Prints the image size and its own run time. Installs buildah from Debian when missing (as
# root). No registry is reachable here, so the Containerfile's build stage is handed the host's
# release build through --build-context (deploy/image/rootfs.sh lays it out, as that stage does).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "image_check: $*" >&2; exit 2; }
fail() { echo "image_check: FAILED: $*" >&2; exit 1; }
start=$SECONDS
source "$ROOT/scripts/check_env.sh"
release_bin

if ! command -v buildah >/dev/null; then
  [[ $(id -u) -eq 0 ]] || die "buildah is missing and installing it needs root (apt-get install buildah)"
  echo "installing buildah from Debian" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends buildah >/dev/null \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y --no-install-recommends buildah >/dev/null; } \
    || die "apt-get install buildah failed"
fi
[[ $(id -u) -eq 0 ]] || die "buildah builds with --isolation chroot as root only"
B=(buildah --storage-driver vfs)
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"
image="localhost/bankscore:$version"
for port in 50051 8081 9090; do
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || die "port $port is in use: the image listens there"
done

work="$(mktemp -d)"
containers=()
cleanup() {
  pkill -TERM -f '^/usr/local/bin/bankscore serve' 2>/dev/null || true
  for c in "${containers[@]}"; do "${B[@]}" rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The build stage on a machine with a registry runs the same layout script on its release build.
grep -q 'deploy/image/rootfs.sh target/release/bankscore /rootfs' "$ROOT/Containerfile" \
  || fail "the Containerfile's build stage no longer runs deploy/image/rootfs.sh into /rootfs"
# The build: the runtime stage of the Containerfile over the layout its build stage would make.
mkdir -p "$work/build"
"$ROOT/deploy/image/rootfs.sh" "$BIN" "$work/build/rootfs"
build_start=$SECONDS
"${B[@]}" bud --quiet --isolation chroot --format docker --build-context "build=$work/build" \
  -t "$image" -f "$ROOT/Containerfile" "$ROOT" >/dev/null || fail "buildah bud"
echo "built $image in $((SECONDS - build_start)) s"

inspect() { "${B[@]}" inspect --type image --format "$1" "$image"; }
[[ "$(inspect '{{.OCIv1.Config.User}}')" == "10001:10001" ]] || fail "the image does not run as 10001"
healthcheck="$(inspect '{{range .Docker.Config.Healthcheck.Test}}{{.}} {{end}}')"
[[ "$healthcheck" == "CMD /usr/local/bin/bankscore health "* ]] || fail "HEALTHCHECK is '$healthcheck'"
read -r -a health_cmd <<<"${healthcheck#CMD }"
read -r -a entry <<<"$(inspect '{{range .OCIv1.Config.Entrypoint}}{{.}} {{end}}{{range .OCIv1.Config.Cmd}}{{.}} {{end}}')"
[[ "${entry[*]}" == "/usr/local/bin/bankscore serve" ]] || fail "entrypoint + command is '${entry[*]}'"
size="$("${B[@]}" images --format '{{.Size}}' "$image")"
layer_bytes="$("${B[@]}" push --quiet "$image" "oci-archive:$work/image.tar" >/dev/null 2>&1 && stat -c %s "$work/image.tar")"
echo "image size: $size unpacked; $((layer_bytes / 1000)) kB pushed (gzip layers, OCI archive)"
echo "files: $(cd "$work/build/rootfs" && find . -type f | sort | tr '\n' ' ')"

# Runs the image's entrypoint and command in a new container with extra `buildah run` options;
# sets CTR and RUN_PID (the buildah run process, whose exit status is the server's).
run_image() {
  CTR="$("${B[@]}" from --quiet "$image")"
  containers+=("$CTR")
  "${B[@]}" run --isolation chroot "$@" "$CTR" -- "${entry[@]}" >"$work/$CTR.log" 2>&1 &
  RUN_PID=$!
}
# The image's own HEALTHCHECK command, run inside the container, until it says SERVING.
wait_healthy() {
  for _ in $(seq 60); do
    if "${B[@]}" run --isolation chroot "$CTR" -- "${health_cmd[@]}" 2>/dev/null | grep -qx SERVING; then
      return 0
    fi
    kill -0 "$RUN_PID" 2>/dev/null || fail "the container exited: $(tail -3 "$work/$CTR.log")"
    sleep 0.5
  done
  fail "HEALTHCHECK did not report SERVING within 30 s: $(tail -3 "$work/$CTR.log")"
}
# SIGTERM to the server (a runtime signals the container's first process); it must exit 0.
stop_image() {
  local pid
  pid="$(pgrep -f '^/usr/local/bin/bankscore serve')" || fail "no server process in the container"
  [[ "$(stat -c %u "/proc/$pid")" == 10001 ]] || fail "the server runs as uid $(stat -c %u "/proc/$pid")"
  kill -TERM "$pid"
  local status=0
  wait "$RUN_PID" || status=$?
  [[ $status -eq 0 ]] || fail "exit status $status after SIGTERM: $(tail -3 "$work/$CTR.log")"
  grep -q '"shutting down' "$work/$CTR.log" || fail "no drain logged"
  echo "  SIGTERM: drained, exit 0"
}
score() { "$BIN" call score --profile "$ROOT/examples/customer.json" --target http://127.0.0.1:50051 "$@"; }

echo "run 1: as built (baked settings and model; BANKSCORE_AUTH_ENABLED=false from the environment)"
run_image -e BANKSCORE_AUTH_ENABLED=false
wait_healthy
echo "  HEALTHCHECK: SERVING"
reply="$(score)" || fail "Score: $reply"
python3 - "$reply" <<'EOF' || fail "Score reply: $reply"
import json, sys
r = json.loads(sys.argv[1])
assert r["model"]["version"] == "v1", r["model"]
assert 0 < r["churn"]["probability"] < 1 and r["tier"]["tier"] and r["decision"]["kind"], r
print(f"  Score: model v1, churn {r['churn']['probability']:.4f}, tier {r['tier']['tier']}, {r['decision']['kind']}")
EOF
grep -q '"authentication is OFF' "$work/$CTR.log" || fail "the environment variable did not reach the settings"
stop_image

echo "run 2: settings with a token and models mounted"
mkdir -p "$work/settings" "$work/models"
cp -R "$ROOT/models/churn" "$work/models/churn"
token="$("$BIN" token --name image-check --role scorer --role admin 2>"$work/token-entry")"
[[ -n "$token" ]] || die "bankscore token printed no token: $(cat "$work/token-entry")"
{ cat "$ROOT/deploy/image/bankscore.toml"; echo; sed -n '/^\[\[auth.tokens\]\]/,$p' "$work/token-entry"; } \
  >"$work/settings/bankscore.toml"
grep -q '^sha256 = ' "$work/settings/bankscore.toml" || die "no token entry: $(cat "$work/token-entry")"
sed -i 's/^\[models\]$/[models]\nwatch_poll = "200ms"\nwatch_debounce = "200ms"/' "$work/settings/bankscore.toml"
chmod -R a+rX "$work/settings" "$work/models"
run_image -v "$work/settings:/etc/bankscore:ro" -v "$work/models:/models"
wait_healthy
echo "  HEALTHCHECK: SERVING"
if out="$(score 2>&1)"; then fail "a call without a token was answered"; fi
grep -q Unauthenticated <<<"$out" || fail "without a token: $out"
echo "  without a token: Unauthenticated"
score --token "$token" >/dev/null || fail "Score with the token"
echo "  with the token: answered"
# Copied beside the mount and moved in whole, as a model owner drops a version.
cp -R "$work/models/churn/v1" "$work/v2" && chmod -R a+rX "$work/v2" && mv "$work/v2" "$work/models/churn/v2"
for _ in $(seq 50); do
  live="$(score --token "$token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["model"]["version"])')"
  [[ "$live" == v2 ]] && break
  sleep 0.2
done
[[ "$live" == v2 ]] || fail "v2 dropped into the mounted models was not served within 10 s (live: $live)"
echo "  v2 dropped into the mount: serving v2 without a restart"
stop_image

echo "image check: passed in $((SECONDS - start)) s"
