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

run: setup
	$(BIN)/nnlab train --framework torch --arch lenet5 --data digits --image-size 28 --epochs 10
	$(BIN)/nnlab train --framework keras --arch lenet5 --data digits --image-size 28 --epochs 10

test: setup
	$(BIN)/python -m pytest

test-all: setup
	$(BIN)/python -m pytest -m ''

clean:
	rm -rf $(VENV) mlruns/mlflow.db mlruns/artifacts data metrics
