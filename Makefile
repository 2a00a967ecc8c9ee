# The platform's commands. `make test` sets everything up on first use, so a fresh clone needs nothing else.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The Lambda runtime's Python (3.12) where the machine has it; otherwise the default python3.
PYTHON ?= $(shell PYENV_VERSION=3.12.1 pyenv which python 2>/dev/null || command -v python3.12 || command -v python3)
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup dev test lint package ci clean

API_PORT ?= 3000
AWS_PORT ?= 4566

setup: $(BIN)/.installed node_modules/.installed

$(BIN)/.installed: requirements-dev.txt libs/common/pyproject.toml services/*/requirements.txt
	@echo "==> Python environment ($(PYTHON))"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> Serverless Framework tooling (npm ci)"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

dev: setup  ## run the whole platform locally (moto as AWS, real handlers) until Ctrl-C
	$(BIN)/python -m local --api-port $(API_PORT) --aws-port $(AWS_PORT)

test: setup  ## run every test
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: setup  ## ruff + mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/common/src services/*/imgplat_* scripts local

package: setup  ## osls package every service offline, check the zips, cfn-lint the templates
	$(BIN)/python scripts/package_services.py
	$(BIN)/cfn-lint --ignore-checks W3005 -- services/*/.serverless/cloudformation-template-update-stack.json

ci: lint package test

clean:
	rm -rf $(VENV) node_modules services/*/.serverless
