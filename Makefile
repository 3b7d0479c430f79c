# Each target builds its own virtual environment from nothing on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The torch build pip picks for this platform (CUDA on Linux x86_64 from PyPI; a local CPU wheel where one is configured).
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: run test bench install clean format

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

# Two pytest workers, one test file each at a time (module fixtures stay shared): most tests wait on engine
# processes, Discord's emulator or a browser, so two overlap well even on 2 cores.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
