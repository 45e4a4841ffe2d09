# Probity: `make run` serves the platform with demo data; `make test` runs the whole test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Everything is installed from the lock file (uv.lock, with hashes) by uv, itself installed with hashes from
# requirements-uv.txt. Re-install when the lock or pyproject.toml changes.
UV := UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv
UV_SYNC := $(UV) sync --frozen --inexact
RUNTIME_STAMP := $(VENV)/.runtime-installed
TEST_STAMP := $(VENV)/.test-installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run bootstrap test lint typecheck check messages clean help lock

help:
	@echo "make run   - install, migrate, load the demo country if the database is empty, serve on http://$(HOST):$(PORT)"
	@echo "             (web server, job worker and scheduler together: probity serve)"
	@echo "make test  - install the test extras and run the whole test suite"
	@echo "make check - ruff (lint and format), import contracts and mypy"
	@echo "make lock  - re-resolve uv.lock after changing dependencies in pyproject.toml"

$(BIN)/uv: requirements-uv.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-uv.txt
	@touch $@

$(RUNTIME_STAMP): pyproject.toml uv.lock | $(BIN)/uv
	$(UV_SYNC) --quiet
	@touch $@

$(TEST_STAMP): pyproject.toml uv.lock | $(BIN)/uv
	$(UV_SYNC) --quiet --extra test --extra spark
	@touch $@ $(RUNTIME_STAMP)

# Re-resolve the lock after changing dependencies in pyproject.toml (see docs/developer.md).
lock: | $(BIN)/uv
	$(UV) lock

# Served over plain HTTP on the loopback address, so cookies are not marked TLS-only here;
# in production leave PROBITY_HTTPS at its default (true) behind a TLS proxy.
run: bootstrap
	PROBITY_HTTPS=$${PROBITY_HTTPS:-false} $(BIN)/probity serve --host $(HOST) --port $(PORT)

# What `make run` does before serving: migrate, load the demo country into var/ if the database is empty.
bootstrap: $(RUNTIME_STAMP)
	PROBITY_HTTPS=$${PROBITY_HTTPS:-false} $(BIN)/probity bootstrap

test: $(TEST_STAMP)
	$(BIN)/python -m pytest

# ruff's lint rules, its formatting (one style, checked), the import contracts (layers, forbidden imports), and
# that uv.lock still matches pyproject.toml.
lint: $(TEST_STAMP)
	$(UV) lock --check
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
