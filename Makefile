# The platform's commands. `make test` sets everything up on first use, so a fresh clone needs nothing else.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# checkov pins boto3 and packaging versions that clash with requirements-dev.txt: it gets a virtualenv of its own.
CHECKOV := $(VENV)/checkov/bin/checkov
TEMPLATES := services/*/.serverless/cloudformation-template-update-stack.json \
	examples/*/.serverless/cloudformation-template-update-stack.json
# The Lambda runtime's Python (3.12) where the machine has it; otherwise the default python3.
PYTHON ?= $(shell PYENV_VERSION=3.12.1 pyenv which python 2>/dev/null || command -v python3.12 || command -v python3)
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup chromium dev test lint package ci clean bench-setup bench bench-cold-start bench-avif cost

API_PORT ?= 3000
AWS_PORT ?= 4566

# What `make dev` needs: the Python environment and the Serverless tooling.
setup: $(BIN)/.installed node_modules/.installed

# The browser test drives Debian's Chromium (Playwright's own browser download does not work everywhere). Where
# there is no apt-get (a Mac, say) the browser test is skipped locally; CI always installs it.
chromium:
	@test -x /usr/bin/chromium || ! command -v apt-get >/dev/null || { echo "==> Chromium (apt-get)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

$(BIN)/.installed: requirements-dev.txt libs/common/pyproject.toml clients/cli/pyproject.toml services/*/requirements.txt
	@echo "==> Python environment ($(PYTHON))"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/checkov/.installed: requirements-checkov.txt
	@echo "==> checkov ($(PYTHON), own virtualenv)"
	test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> Serverless Framework tooling (npm ci)"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

dev: setup  ## run the whole platform locally (moto as AWS, real handlers) until Ctrl-C
	$(BIN)/python -m local --api-port $(API_PORT) --aws-port $(AWS_PORT)

test: setup chromium  ## run every test
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: setup  ## ruff + mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/common/src services/*/imgplat_* clients/cli/imgplat_cli scripts local bench

package: setup $(VENV)/checkov/.installed  ## osls package every service and the compose project offline, check the zips, cfn-lint + checkov
	$(BIN)/python scripts/package_services.py
	$(BIN)/python scripts/package_compose.py
	$(BIN)/python scripts/package_services.py --examples
	@# W3005 (a DependsOn that a Ref already implies) is in the framework's own output, not in our resources.
	$(BIN)/cfn-lint --ignore-checks W3005 -- $(TEMPLATES)
	@# No --skip-check: every finding is fixed or skipped on its resource with the reason (Metadata.checkov.skip).
	$(CHECKOV) --framework cloudformation --skip-download --compact --quiet -f $(TEMPLATES)

ci: lint package test

# Benchmarks (docs/performance.md). pyvips is the reference the processing benchmark compares against: it goes into
# the dev venv from bench/requirements.txt, never into a Lambda package.
bench-setup: setup $(BIN)/.bench-installed

$(BIN)/.bench-installed: bench/requirements.txt
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	touch $@

bench: bench-setup  ## ours vs naive Pillow vs pyvips on real photos, one core (headline) and two, interleaved in one run (first run also prepares .cache/bench-photos)
	$(BIN)/python bench/processing.py $(BENCH_ARGS)

# One core as a Lambda image step has it (1769 MB), then the pipeline alone on two (docs/performance.md: AVIF).
bench-avif: setup  ## AVIF vs JPEG and WebP: bytes at equal PSNR, encode time, pipeline time with AVIF on and off
	taskset -c 0 $(BIN)/python bench/avif.py $(BENCH_ARGS)
	taskset -c 0,1 $(BIN)/python bench/avif.py --pipeline-only $(BENCH_ARGS)

bench-cold-start: setup  ## init time of every handler over the floor (a handler with no code of ours), one CPU; zip sizes
	$(BIN)/python bench/cold_start.py

# docs/cost.md: COST_ARGS="--real-photos" (its measured rows), "--photos 100", "--param NAME=VALUE" (another configuration).
cost: setup  ## cost per 1,000 uploads + 10,000 views, priced from requests and durations measured on the local platform
	$(BIN)/python bench/cost.py $(COST_ARGS)

clean:
	rm -rf $(VENV) node_modules services/*/.serverless .serverless
