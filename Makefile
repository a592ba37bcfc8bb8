# Makima mesh. `make run` serves a fresh clone with demo data; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: help install run port-free test lint format schema bench fuzz browser clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed ## Create .venv and install requirements.txt

run: port-free install ## Migrate, collect static files, set up the demo, serve with daphne on HOST:PORT
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py demo_setup --base-url http://$(HOST):$(PORT)
	MALLOC_ARENA_MAX=2 $(VENV)/bin/daphne -b $(HOST) -p $(PORT) makima_site.asgi:application

port-free: # run's first step: one line and exit 1 when HOST:PORT is taken
	@$(PYTHON) mesh/demo/portcheck.py $(HOST) $(PORT)

test: install ## Run the whole suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install ## ruff (lint, format check) and mypy (settings in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install ## ruff: fix and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: install ## Validate the OpenAPI schema (warnings fail)
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

bench: install ## Benchmarks (see bench/README.md)
	$(PY) bench/run.py $(BENCH_ARGS)

fuzz: install ## Schemathesis over /api/schema/ against a live daphne (see docs/operations.md)
	$(PY) fuzz/run.py $(FUZZ_ARGS)

browser: ## Install Debian's Chromium for the browser tests (needs root)
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

clean: ## Remove the virtualenv and the SQLite database
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
