# Probity: `make run` serves the platform with demo data; `make test` runs the whole test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Re-install when pyproject.toml changes.
RUNTIME_STAMP := $(VENV)/.runtime-installed
TEST_STAMP := $(VENV)/.test-installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck check messages clean help

help:
	@echo "make run   - install, migrate, load the demo country if the database is empty, serve on http://$(HOST):$(PORT)"
	@echo "make test  - install the test extras and run the whole test suite"
	@echo "make check - ruff (lint and format), import contracts and mypy"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(RUNTIME_STAMP)

# Served over plain HTTP on the loopback address, so cookies are not marked TLS-only here;
# in production leave PROBITY_HTTPS at its default (true) behind a TLS proxy.
run: $(RUNTIME_STAMP)
	PROBITY_HTTPS=$${PROBITY_HTTPS:-false} $(BIN)/probity bootstrap
	PROBITY_HTTPS=$${PROBITY_HTTPS:-false} $(BIN)/probity runserver $(HOST):$(PORT) --noreload --skip-checks

test: $(TEST_STAMP)
	$(BIN)/python -m pytest

# ruff's lint rules, its formatting (one style, checked), and the import contracts (layers, forbidden imports).
lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

check: lint typecheck

# Regenerate the message catalogues after changing strings (needs GNU gettext).
# The project catalogue covers core, warehouse, demo and the shell; each module with its own locale/ has its own.
MODULE_CATALOGUES := $(patsubst %/locale,%,$(wildcard src/probity/*/locale))
messages: $(RUNTIME_STAMP)
	cd src/probity && ../../$(BIN)/probity makemessages -l zh_Hans -l ar --no-obsolete --no-location \
		$(foreach m,$(MODULE_CATALOGUES),--ignore=$(notdir $(m))/*)
	for m in $(MODULE_CATALOGUES); do (cd $$m && ../../../$(BIN)/probity makemessages -l zh_Hans --no-obsolete --no-location) || exit 1; done
	cd src/probity && ../../$(BIN)/probity compilemessages

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
