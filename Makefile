# The README's quick start: `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install migrate run test lint format audit clean mutation

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

migrate: install
	$(PY) manage.py migrate --noinput

# The web server and both django-q2 clusters (the main one, and the partner-webhook one on its own
# queue); Ctrl-C stops all three.
run: migrate
	$(PY) manage.py seed_demo
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) manage.py qcluster & \
	Q_CLUSTER_NAME=webhooks $(PY) manage.py qcluster & \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# Mutation testing of the money code (slow, on demand; not part of .ci/run). Configured in pyproject.toml
# [tool.mutmut]; mutants live in ./mutants. Survivors: `.venv/bin/mutmut results`; one diff: `mutmut show NAME`.
MUTANTS ?= billing.prices.* billing.services.* billing.selectors.* generations.services.creation.x_generation_create__* generations.services.creation.x_generation_enqueue__* \
	generations.services.creation.x_generation_cancel__* generations.services.transitions.x_fail__* \
	generations.services.finishing.x_commit_success__*
mutation: install
	$(VENV)/bin/mutmut run $(foreach mutant,$(MUTANTS),"$(mutant)")
	$(VENV)/bin/mutmut results

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Known vulnerabilities in requirements*.txt (pip-audit); skips, saying so, when its database is unreachable.
audit: install
	bash .ci/audit

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3* media staticfiles .pytest_cache .ruff_cache mutants
