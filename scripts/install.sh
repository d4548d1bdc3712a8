#!/usr/bin/env bash
# Install nslab from this checkout: system packages, a virtualenv in .venv, `nslab` on PATH.
#   bash scripts/install.sh         what a learner needs
#   bash scripts/install.sh --dev   also what the full test suite needs (pytest, ruff, mypy,
#                                   ruby/vagrant for the Vagrantfile checks)
# Run as root. Running it again is safe and quick.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
case "${1:-}" in
  --dev) dev=1 ;;
  "") ;;
  *) echo "usage: bash scripts/install.sh [--dev]" >&2; exit 2 ;;
esac
bash scripts/install-deps.sh
if [ "$dev" = 1 ]; then
  bash scripts/install-ci-extras.sh
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
ln -sf "$PWD/.venv/bin/nslab" /usr/local/bin/nslab
echo "nslab installed: /usr/local/bin/nslab -> $PWD/.venv/bin/nslab"
