# Makima mesh. `make run` serves a fresh clone with demo data; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: help install run port-free test lint format schema bench fuzz browser clean cluster \
	cluster-stop

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

# The agent client (client/, the `makima` command) goes in editable with its extras, so the
# tests and `make run` use the working tree's; its pyproject.toml changing reinstalls it.
$(VENV)/.installed: requirements.txt client/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -e './client[mcp,watch]'
	touch $@

install: $(VENV)/.installed ## Create .venv; install requirements.txt and ./client[mcp,watch]

run: port-free install ## Migrate, collect static, set up the demo, serve (daphne + worker, honcho) on HOST:PORT
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py demo_setup --base-url http://$(HOST):$(PORT)
	HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/honcho start -f Procfile web worker

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

cluster: install ## Two simulated hosts (netns), 4 daphne + workers, nginx on CLUSTER_PORT (root)
	$(PY) -m deploy.cluster start $(CLUSTER_ARGS)

cluster-stop: ## Stop `make cluster`: its processes, namespaces and veths
	$(PY) -m deploy.cluster stop

clean: ## Remove the virtualenv and the SQLite database
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
