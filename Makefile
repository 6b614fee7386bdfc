# The verbs a newcomer looks for. Each creates .venv and installs the project first if needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint fmt bench seed migrate clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## run: the whole system with a seeded demo county; Ctrl-C stops it all
run: $(STAMP)
	$(PY) -m zhucun.cli run

## test: lint, then the whole suite on real PostgreSQL and NATS
test: lint
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

fmt: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

## bench: start the stack, load it from a separate process, record bench/results/<date>.json;
## then the attendance reports on a province of 50,000 cadres (bench/results/<date>-reports.json)
## and a greeting campaign planned for 1,000,000 people (bench/results/<date>-notify.json)
bench: $(STAMP)
	$(PY) -m bench.run
	$(PY) -m bench.reports
	$(PY) -m bench.notify

seed: $(STAMP)
	$(PY) -m zhucun.cli seed

migrate: $(STAMP)
	$(PY) -m zhucun.cli migrate

clean:
	rm -rf .data
