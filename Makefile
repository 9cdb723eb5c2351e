# Fresh machine: `make run` sets up and runs the main job; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test test-all clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off -e '.[dev]'
	touch $@

# the main job: the DVC pipeline (prepare -> train matrix -> tune -> report) on embedded data
run: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
	@cat reports/leaderboard.md

# two pytest workers (pytest-xdist): tests wait on subprocesses and imports as much as they compute
test: setup
	$(BIN)/python -m pytest -n 2

test-all: setup
	$(BIN)/python -m pytest -n 2 -m ''

clean:
	rm -rf $(VENV) mlruns/mlflow.db mlruns/artifacts data metrics
