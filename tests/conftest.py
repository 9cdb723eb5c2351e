"""Test isolation: every test runs in its own folder with its own MLflow store.

The torch side is imported first, here, because importing TensorFlow before
torchvision or lightning kills the process (see `modules.backend`).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# One math thread per process: two pytest workers (and the commands they start) already fill
# both cores, and a second torch/TensorFlow thread each only made them wait on one another
# (docs/benchmarks.md, "The test suite's time": 572 -> 524 s of the default run on 2 cores).
# Inherited by every command a test starts; an explicit setting wins.
for _threads in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_threads, "1")

from modules import backend  # noqa: E402

backend.lightning()  # the whole torch side, before any test loads TensorFlow

SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"


SLOW_TIMEOUT_S = 3600  # a slow test trains a network to its target: up to an hour on 2 cores


def pytest_collection_modifyitems(items):
    """Slow tests get an hour before pytest-timeout stops them (the default is 10 minutes).
    Whole-workflow and integration tests (seconds to a minute and a half each) run first, so the
    two pytest-xdist workers end on sub-second unit tests instead of one waiting for the other's
    long test."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))
    items.sort(key=lambda item: (item.get_closest_marker("e2e") is None,
                                 item.get_closest_marker("integration") is None))  # stable


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory) -> Path:
    """One data folder for the session, so generated datasets are made once."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def empty_mlflow_store(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store, made once per worker by MLflow itself. A new store runs
    MLflow's alembic migrations (about 2 s); copying this file instead spares that to every test
    that opens a store, in its own process or in a child."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    folder = tmp_path_factory.mktemp("empty-mlflow-store")
    SqlAlchemyStore(f"sqlite:///{folder / 'mlflow.db'}", str(folder / "artifacts")).engine.dispose()
    return folder / "mlflow.db"


@pytest.fixture(autouse=True)
def lab_dir(request, tmp_path, monkeypatch, data_cache) -> Path:
    """Run in a fresh folder: its own `mlruns/` SQLite store (a copy of an empty one, unless the
    test is marked `no_store`: it sees the folder as a new user's, with no `mlruns/`); generated
    data shared."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NNLAB_DATA_DIR", str(data_cache))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    if not request.node.get_closest_marker("no_store"):
        (tmp_path / "mlruns").mkdir()
        shutil.copyfile(request.getfixturevalue("empty_mlflow_store"), tmp_path / "mlruns" / "mlflow.db")
    return tmp_path


def mlflow_runs(experiment: str | None = None) -> list:
    """Every MLflow run in the current folder's store (optionally one experiment)."""
    import mlflow

    from experiments.tracking import tracking_uri

    client = mlflow.MlflowClient(tracking_uri())
    experiments = [e.experiment_id for e in client.search_experiments()
                   if experiment is None or e.name == experiment]
    return client.search_runs(experiments) if experiments else []


def digits32_test_acc(framework: str, arch: str) -> float:
    """`nnlab train` of `arch` on digits at 32x32 with its default settings; its test accuracy."""
    import json

    result = run_cli("train", "--framework", framework, "--arch", arch, "--data", "digits",
                     "--image-size", "32", "--quiet", "--metrics-out", "m.json", timeout=3600)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(Path("m.json").read_text())["test/acc"]


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 600):
    """Run `python -m experiments ARGS` in a subprocess; return the CompletedProcess."""
    import subprocess

    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "experiments", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)
