# saksflyt — run `make help` for the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# make test and make test-fast: pytest-xdist workers, each test file on one worker (its fixtures
# set up once); TEST_WORKERS=0 runs the suite in one process
TEST_WORKERS ?= 2
PYTEST_WORKERS := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install saksflyt with its dev tools

demo: install ## simulate a month of applications on the embedded SQLite store and print a summary
	$(BIN)/saksflyt demo

test: install test-tools ## start PostgreSQL, Kafka and an OpenID Connect server on 127.0.0.1, run the whole test suite (TEST_WORKERS=2 pytest workers), stop them
	SAKSFLYT_TEST_SCRATCH=memory compose/with-services.sh $(BIN)/pytest $(PYTEST_WORKERS)

test-fast: install test-tools ## the edit loop: unit tests and the integration tests that need no Kafka broker and are not marked slow, in about two minutes; make test runs everything
	SAKSFLYT_TEST_SCRATCH=memory SAKSFLYT_TEST_SERVICES="postgres oidc" compose/with-services.sh $(BIN)/pytest $(PYTEST_WORKERS) -m "not slow and not kafka"

NODE_TOOLS := tests/node/node_modules/.package-lock.json

test-tools: $(NODE_TOOLS) ghostscript ## install Debian's Chromium, Prometheus (promtool and a real server) and Ghostscript (PDF/A of uploads in the archive export), and bpmn-js and the AsyncAPI parser from npm, when missing
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@command -v promtool >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

ghostscript:  # the Noark 5 export converts uploads to PDF/A with it (make test and make bench)
	@command -v gs >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ghostscript; }

$(NODE_TOOLS): tests/node/package.json tests/node/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	npm ci --prefix tests/node --no-audit --no-fund --loglevel=error

lint: install ## ruff, ruff format --check and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install ghostscript ## every benchmark next to its baseline (event store, intake with group commit, relay, read models, load held end to end, memory, codec, sealing, letters, Noark 5, /metrics, the HTTP door against the bare library behind the same server); results in bench/results/, table in docs/benchmarks.md
	compose/with-services.sh $(BIN)/python bench/run.py

chaos: install ## the fault campaign: a three-broker Kafka cluster, PostgreSQL and SMTP; every process killed and restarted, brokers killed, poison; the checker's table into docs/reliability.md, the whole result in chaos/results/ (SEED=n replays a run)
	@mkdir -p chaos/results
	$(BIN)/python -m chaos $(if $(SEED),--seed $(SEED)) --docs docs/reliability.md \
	  --json chaos/results/$$(date -u +%Y-%m-%dT%H%M%S).json

clean: ## remove the virtualenv, local databases and caches
	rm -rf $(VENV) var .services .pytest_cache .mypy_cache .ruff_cache test-artifacts tests/node/node_modules

.PHONY: ghostscript help install demo test test-fast test-tools lint bench chaos clean
