# Two commands: `make run` (the demo on http://127.0.0.1:5000) and `make test` (the whole suite).
# Needs only python3 (3.11+) on a Debian machine; packages come from PyPI and Debian.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 5000
DEBIAN_TEST_PACKAGES := chromium libreoffice-writer-nogui

# root runs apt-get directly; anyone else through sudo when it exists
SUDO := $(shell [ "$$(id -u)" = 0 ] || ! command -v sudo >/dev/null 2>&1 || echo sudo)

.DEFAULT_GOAL := help

.PHONY: help run test check pytest lint install system-packages clean load

help:
	@echo "make run    create .venv, install, migrate, seed the demo university, serve http://127.0.0.1:5000"
	@echo "            another address or port: make run PORT=5001 (HOST=0.0.0.0 to serve the network)"
	@echo "make test   install what the tests need (Debian chromium, LibreOffice), ruff, import contracts, pytest"
	@echo "            extra pytest arguments: make test PYTEST_ARGS='-k expulsion -x'"
	@echo "make check  the static checks alone (ruff, import contracts, bandit); make pytest the tests alone"
	@echo "make lint   ruff check"
	@echo "make load   the load test: gunicorn x4, 2 workers, scheduler, RabbitMQ, 100 people for 60 s (bench/README.md)"
	@echo "            on the PostgreSQL database LOAD_DATABASE_URL (wiped), default bench_load on 127.0.0.1"
	@echo "make clean  remove .venv, caches and test artifacts (keeps instance/, the demo database)"

$(BIN)/python:
	@if ! $(PYTHON) -m venv $(VENV); then \
		echo "python3 -m venv failed; installing Debian's python3-venv"; rm -rf $(VENV); \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv \
		&& $(PYTHON) -m venv $(VENV); \
	fi

# reinstalls only when the dependency ranges or the pinned versions change
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -c constraints.txt -e '.[test]'
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/registrar db upgrade
	$(BIN)/registrar seed-demo --if-empty
	$(BIN)/registrar run --host $(HOST) --port $(PORT)

system-packages:
	@missing=""; \
	for package in $(DEBIAN_TEST_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ] && [ -z "$(SUDO)" ]; then \
			echo "Missing Debian packages:$$missing; install them as root (no sudo here)." >&2; exit 1; \
		fi; \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .

test: check pytest

# the static checks, apart from the tests so that CI runs them once for its two database phases
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/bandit -q -r core students workflow notifications orders approvals reports registrar

pytest: $(STAMP) system-packages
	$(BIN)/pytest $(PYTEST_ARGS)

LOAD_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/bench_load
LOAD_ARGS ?=

# the bench extra (locust, aiosmtpd) on top of the usual install
load: $(STAMP)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test,bench]'
	DATABASE_URL=$(LOAD_DATABASE_URL) $(BIN)/python -m bench.load $(LOAD_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .import_linter_cache test-artifacts build *.egg-info
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
