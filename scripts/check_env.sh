# What the check and benchmark scripts share (sourced): the bankscore binary, and Python venvs
# from pinned requirements files. Callers define `die` and `ROOT`.
#
#   release_bin                     # sets BIN: $BANKSCORE_BIN, else the release build (built if missing)
#   pinned_venv VENV REQUIREMENTS   # sets VENV_PY to VENV/bin/python
#
# Creates VENV with PARITY_PYTHON (else python3.11, else python3) when it is missing, and
# installs REQUIREMENTS into it when that file changed since the last install (its SHA-256 is
# kept in the venv).
pinned_venv() {
  local venv="$1" req="$2"
  if [[ ! -x "$venv/bin/python" ]]; then
    local py="${PARITY_PYTHON:-}"
    [[ -n "$py" ]] || py="$(command -v python3.11 || echo python3)"
    echo "creating venv $venv with $py" >&2
    "$py" -m venv "$venv" || die "cannot create a venv with $py"
  fi
  local stamp="$venv/.bankscore-requirements.sha256" want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
    echo "installing $req into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" \
      || die "pip install -r $req failed"
    echo "$want" >"$stamp"
  fi
  VENV_PY="$venv/bin/python"
}

release_bin() {
  BIN="${BANKSCORE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/bankscore}"
  if [[ -z "${BANKSCORE_BIN:-}" && ! -x "$BIN" ]]; then
    (cd "$ROOT" && cargo build --release --locked) >&2 || die "cargo build failed"
  fi
  [[ -x "$BIN" ]] || die "$BIN is not an executable"
}
