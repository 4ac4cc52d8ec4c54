# The two entry points of the README: `make run` (the main job) and `make test` (the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODEL ?= mock:oracle
SUITES ?= suites
ARGS ?=

$(BIN)/mlb: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/mlb

run: $(BIN)/mlb
	$(BIN)/mlb validate $(SUITES)
	$(BIN)/pytest $(SUITES) --mlb-model=$(MODEL) --mlb-report=mlb-report.json -rx -q $(ARGS)

test: $(BIN)/mlb
	$(BIN)/pytest tests -q $(ARGS)

.PHONY: install run test
