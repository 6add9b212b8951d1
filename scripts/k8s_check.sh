#!/usr/bin/env bash
# deploy/kubernetes rendered and checked offline: each overlay through `kubectl kustomize`,
# validated strictly against the Kubernetes 1.30 schemas (kubernetes-validate, pinned in
# scripts/requirements-k8s.txt), then scripts/k8s_check.py checks the ports, probes, preStop and
# grace period against the settings the server itself parses. Prints its own run time.
#
# Environment: BANKSCORE_BIN (else the release binary, built if missing), K8S_VENV
# (/tmp/bankscore-k8s-venv), K8S_VERSION (1.30.0).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "k8s_check: $*" >&2; exit 2; }
start=$SECONDS
command -v kubectl >/dev/null || die "kubectl (with kustomize) is needed"
source "$ROOT/scripts/check_env.sh"
release_bin
pinned_venv "${K8S_VENV:-/tmp/bankscore-k8s-venv}" "$ROOT/scripts/requirements-k8s.txt"
OUT="$(mktemp -d /tmp/bankscore-k8s.XXXXXX)"
status=0
for overlay in trial production; do
  rendered="$OUT/$overlay.yaml"
  kubectl kustomize "$ROOT/deploy/kubernetes/overlays/$overlay" >"$rendered" || die "kustomize $overlay failed"
  "$(dirname "$VENV_PY")/kubernetes-validate" -k "${K8S_VERSION:-1.30.0}" --strict --quiet "$rendered" \
    || { echo "FAIL $overlay: schema validation" >&2; status=1; }
  "$VENV_PY" "$ROOT/scripts/k8s_check.py" --bin "$BIN" --rendered "$rendered" --name "$overlay" || status=1
done
echo "k8s check: $((SECONDS - start)) s (rendered in $OUT)"
exit "$status"
