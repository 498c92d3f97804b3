#!/usr/bin/env bash
# Start the whole system on the embedded default: broker, five services, SQLite, demo data.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
bootstrap_venv
exec .venv/bin/casebridge up "$@"
