# nslab. The scripts under scripts/ do the work, so a machine without make can run them too.
.PHONY: install install-dev test test-unit lint typecheck bench clean

install:  ## system packages, a virtualenv with nslab, `nslab` on PATH (root)
	bash scripts/install.sh

install-dev:  ## install plus everything the test suite needs (root)
	bash scripts/install.sh --dev

test:  ## lint, types, unit tests, root tests against the real kernel (root)
	bash scripts/test.sh

test-unit:
	.venv/bin/python -m pytest -q -p no:cacheprovider tests/unit

lint:
	.venv/bin/ruff check nslab tests bench
	.venv/bin/ruff format --check nslab tests bench

typecheck:
	.venv/bin/mypy

bench:
	.venv/bin/python bench/run.py

clean:
	rm -rf build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
