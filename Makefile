# Two commands on a fresh clone: `make chat` and `make test`. Both install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install chat test bench slack discord clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

chat: $(STAMP)
	$(BIN)/trip-planner chat

slack: $(STAMP)
	$(BIN)/trip-planner slack

discord: $(STAMP)
	$(BIN)/trip-planner discord

test: $(STAMP)
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data .pytest_cache
