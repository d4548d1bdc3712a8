#!/usr/bin/env bash
# The full test suite: lint, types, unit tests, then root tests against the real kernel.
# Usage (as root, after scripts/install.sh): bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check nslab tests bench
.venv/bin/ruff format --check nslab tests bench
.venv/bin/mypy
# pytest exits 5 when it collected no test: that fails here like any other error.
.venv/bin/python -m pytest -q -p no:cacheprovider "${@:-tests}"
