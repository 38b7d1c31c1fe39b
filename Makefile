# Patronage — the two commands are `make demo` and `make test`; everything installs from uv.lock.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --locked

.PHONY: setup test test-fast lint format demo serve openapi bench clean

# --compile-bytecode: the installed packages' bytecode is written once (about 10 s the first time, then a check),
# not compiled again by every process that imports dagster or dbt: 4 s of CPU each where PYTHONDONTWRITEBYTECODE is
# set (bench/README.md, "Setup").
setup:  ## create .venv from uv.lock (bootstraps uv with pip when missing)
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		{ echo "==> installing uv with pip"; $(PYTHON) -m pip install --quiet uv; }
	@echo "==> uv sync --locked --compile-bytecode"
	@$(UV) sync --locked --compile-bytecode
	@echo "==> npm ci (the OpenAPI linters and the dashboards' Vega-Lite, pinned in package-lock.json, into ./node_modules)"
	@npm ci --no-audit --no-fund --loglevel=error

# Test processes (pytest-xdist): one per core of the 2-core machines CI and we run on; each has its own databases.
TEST_WORKERS ?= 2

test: setup  ## the whole suite (unit, integration on real PostgreSQL, slow end-to-end), on TEST_WORKERS processes
	$(RUN) pytest -n $(TEST_WORKERS) --durations=15

test-fast: setup  ## everything but the slow end-to-end suites
	$(RUN) pytest -n $(TEST_WORKERS) -m "not slow"

lint: setup  ## ruff (lint + format check), mypy, import direction (import-linter), the OpenAPI document (Redocly, Spectral)
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true node_modules/.bin/redocly lint api/openapi.json --format=summary
	node_modules/.bin/spectral lint api/openapi.json --fail-severity=warn --quiet
	$(RUN) lint-imports

format: setup
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

demo: setup  ## run the system on embedded defaults and show the result
	$(RUN) patronage demo

serve: setup
	$(RUN) patronage serve

openapi: setup  ## rewrite api/openapi.json (the snapshot iOS generates its client from)
	$(RUN) patronage openapi

bench: setup  ## every benchmark with its same-run reference; rewrites bench/README.md's last-run section
	$(RUN) python -m bench.run_all

clean:
	rm -rf .patronage .pytest_cache .mypy_cache .ruff_cache node_modules
