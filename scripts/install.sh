#!/usr/bin/env bash
# Install nslab from this checkout: system packages, a virtualenv in .venv, `nslab` on PATH.
# Usage (as root): bash scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
ln -sf "$PWD/.venv/bin/nslab" /usr/local/bin/nslab
echo "nslab installed: /usr/local/bin/nslab -> $PWD/.venv/bin/nslab"
