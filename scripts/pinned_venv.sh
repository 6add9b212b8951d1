# A Python venv from a pinned requirements file, shared by the scripts that need one (sourced).
#
#   pinned_venv VENV REQUIREMENTS   # sets VENV_PY to VENV/bin/python
#
# Creates VENV with PARITY_PYTHON (else python3.11, else python3) when it is missing, and
# installs REQUIREMENTS into it when that file changed since the last install (its SHA-256 is
# kept in the venv). Callers define `die`.
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
