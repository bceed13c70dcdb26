# The README's two commands: `make run` (service with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test lint schema bench clean screenshots contract

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/ordertrack serve --demo

test: install
	$(BIN)/pytest -n 2  # two workers; each has its own PostgreSQL schema, ports and broker channel

lint: install  # ruff (lint and format) and mypy as configured in pyproject.toml
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy

schema: install
	$(BIN)/ordertrack export-schema --output schema.graphql

screenshots: install  # the dashboard screenshots in docs/screenshots (headless Chromium)
	ORDERTRACK_SCREENSHOTS=1 $(BIN)/pytest -q tests/test_dashboard_browser.py

contract: install  # regenerate the front-end contract's TypeScript types and persisted-operation manifest
	cd frontend-contract && npm ci && npx graphql-codegen
	$(BIN)/ordertrack contract

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data .pytest_cache
