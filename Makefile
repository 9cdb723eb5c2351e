# Fresh machine: `make run` sets up and runs the main job; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup setup-dev setup-cpu check-disk run test test-e2e test-all clean

# A first install writes about 8.4 GiB (torch's CUDA build, TensorFlow; the dev extra adds little):
# refuse it in one line, before pip fills the disk half-way, when less is free.
MIN_FREE_GIB ?= 9

# PyTorch's CPU-only wheels (no CUDA libraries, several GB less): `make setup-cpu` installs torch
# and torchvision from this index first, then nnlab. The README says what each install takes.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

# `make run` installs nnlab alone; `make test` adds the test tools (the `dev` extra)
setup: $(VENV)/.installed

check-disk:
	@$(PYTHON) -c "import shutil, sys; free = shutil.disk_usage('.').free / 2**30; \
	sys.exit(0 if free >= $(MIN_FREE_GIB) else 'nnlab: installing needs about $(MIN_FREE_GIB) GiB free here, ' \
	f'only {free:.1f} GiB is free: free some space (old clones, virtual environments) and rerun')"

$(VENV)/.installed: pyproject.toml
	@[ -d $(VENV) ] || $(MAKE) --no-print-directory check-disk
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off -e .
	touch $@

setup-dev: $(VENV)/.installed-dev

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet --progress-bar off -e '.[dev]'
	touch $@

setup-cpu: check-disk
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off torch torchvision --index-url $(TORCH_CPU_INDEX)
	$(BIN)/pip install --quiet --progress-bar off -e .
	touch $(VENV)/.installed

# the main job: the DVC pipeline (prepare -> train matrix -> tune -> report) on embedded data
run: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
	@cat reports/leaderboard.md

# two pytest workers (pytest-xdist): tests wait on subprocesses and imports as much as they compute
test: setup-dev
	$(BIN)/python -m pytest -n 2

# whole user workflows (every documented command, dvc repro, servers): CI runs them after `make test`
test-e2e: setup-dev
	$(BIN)/python -m pytest -n 2 -m e2e

test-all: setup-dev
	$(BIN)/python -m pytest -n 2 -m ''

clean:
	rm -rf $(VENV) mlruns/mlflow.db mlruns/artifacts data metrics
