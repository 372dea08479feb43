# shudata — the two commands of the README live here.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# pinned versions (constraints.txt; `make … CONSTRAINTS=` resolves afresh)
CONSTRAINTS ?= constraints.txt
PIN := $(if $(CONSTRAINTS),-c $(CONSTRAINTS),)
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(CONSTRAINTS) | sha1sum | cut -c1-12)

.PHONY: demo test venv dev-venv browser clients lint bench-quick clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install -q $(PIN) -e .

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/pip install -q $(PIN) -e '.[dev,spark]'
	touch $(STAMP)

dev-venv: $(STAMP)

## One command: set up, load the demo and serve on http://127.0.0.1:8000 (make demo PORT=8080 HOST=0.0.0.0)
HOST ?= 127.0.0.1
PORT ?= 8000
demo: venv
	$(BIN)/shudata demo --host $(HOST) --port $(PORT)

## Debian chromium for the browser tests (installed when missing and we are root)
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian chromium for the browser tests…"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null; \
	  else \
	    echo "Chromium is missing: run 'sudo apt-get install -y chromium' (browser tests will be skipped)"; \
	  fi; \
	fi

## Official protocol clients, each in its own virtualenv (their pins are tight)
DS_VENV := tests/.venv-delta-sharing
$(DS_VENV)/.installed:
	$(PY) -m venv $(DS_VENV)
	$(DS_VENV)/bin/pip install -q delta-sharing==1.4.2
	touch $@

## DuckDB with its httpfs extension from PyPI (the extension must match its DuckDB; none is published for DuckDB 2.x)
HTTPFS_VENV := tests/.venv-duckdb-httpfs
$(HTTPFS_VENV)/.installed:
	$(PY) -m venv $(HTTPFS_VENV)
	$(HTTPFS_VENV)/bin/pip install -q duckdb==1.5.5 duckdb-extension-httpfs==1.5.5
	touch $@

clients: $(DS_VENV)/.installed $(HTTPFS_VENV)/.installed

## One command: set up and run the whole test suite (SQLite and PostgreSQL, browser tests)
test: dev-venv browser clients
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/lint-imports --no-cache
	@# bytecode caches on for the run (an environment may set PYTHONDONTWRITEBYTECODE): without them every
	@# worker and every server or CLI a test starts compiles all of src/ again, and pytest rewrites
	@# the asserts of every test module in each worker; src/ is compiled once up front. Files are handed out
	@# in the order tests/conftest.py gives them (long ones first), not xdist's (most tests first)
	$(BIN)/python -m compileall -q -j 0 src
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder --durations=30

lint: dev-venv
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

bench-quick: dev-venv
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f --quick || exit 1; done

clean:
	rm -rf $(VENV) shudata-data .pytest_cache .mypy_cache .ruff_cache
