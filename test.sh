#!/usr/bin/env bash
# Lint, type-check and run every test, on SQLite and on PostgreSQL, against a real broker.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
bootstrap_venv dev
export PATH="$PWD/.venv/bin:$PATH"

ruff check .
ruff format --check .
mypy shared casebridge services

pg_url="${CASEBRIDGE_TEST_PG_URL:-postgresql://127.0.0.1:5432/test}"
if ! pg_isready -q -d "$pg_url" 2>/dev/null; then
  # The machine's PostgreSQL may be stopped; start it if we can.
  command -v pg_ctlcluster >/dev/null 2>&1 && ls /etc/postgresql >/dev/null 2>&1 &&
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start 2>/dev/null || true
  for _ in $(seq 1 30); do pg_isready -q -d "$pg_url" 2>/dev/null && break; sleep 1; done
fi

echo "== tests on SQLite"
CASEBRIDGE_TEST_DB=sqlite pytest "$@"
if pg_isready -q -d "$pg_url" 2>/dev/null; then
  echo "== tests on PostgreSQL"
  CASEBRIDGE_TEST_DB=postgresql pytest "$@"
elif [ -n "${CI:-}" ]; then
  echo "PostgreSQL is not reachable at $pg_url; CI must test on it" >&2
  exit 1
else
  echo "!! PostgreSQL not reachable at $pg_url: skipped the PostgreSQL run (CI does not skip it)"
fi
