# Sourced by run.sh and test.sh: a project virtualenv with the pinned dependencies.
# Usage: bootstrap_venv [extra]   (extra: dev, bench)
bootstrap_venv() {
  local extra="${1:-}"
  local py="${PYTHON:-python3.11}"
  command -v "$py" >/dev/null 2>&1 || py=python3
  if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
  fi
  local stamp=".venv/.installed-${extra:-base}"
  local spec="."
  [ -n "$extra" ] && spec=".[$extra]"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e "$spec"
    touch "$stamp"
  fi
}
