#!/usr/bin/env bash
# Install nslab from this checkout: system packages, a virtualenv in .venv, `nslab` on PATH.
#   bash scripts/install.sh         what a learner needs: a normal (copied) install, and only
#                                   from a checkout that root alone can change
#   bash scripts/install.sh --dev   editable install plus what the full test suite needs
#                                   (pytest, ruff, mypy, ruby/vagrant for the Vagrantfile checks)
# Run as root. Running it again is safe and quick.
#
# Why the ownership check: learners run `sudo nslab`, i.e. /usr/local/bin/nslab ->
# <checkout>/.venv/bin/nslab as root. If a learner can change the checkout (or any directory
# above it), they can swap the code or the venv and run anything as root. An editable
# install (--dev) runs the checkout's code directly: for developers and CI only.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
case "${1:-}" in
  --dev) dev=1 ;;
  "") ;;
  *) echo "usage: bash scripts/install.sh [--dev]" >&2; exit 2 ;;
esac
if [ "$dev" = 0 ]; then
  bash scripts/check-checkout.sh
fi
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
  # A copy, not a link to the checkout: later changes to it do not reach the installed code.
  # pip always rebuilds a local directory, so this also replaces an earlier editable install.
  .venv/bin/python -m pip install -q --disable-pip-version-check .
fi
ln -sf "$PWD/.venv/bin/nslab" /usr/local/bin/nslab
echo "nslab installed: /usr/local/bin/nslab -> $PWD/.venv/bin/nslab"
