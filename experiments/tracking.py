"""MLflow conventions: where runs go and the names of their params, metrics, tags
and artifacts. Both frameworks log through here, so their runs compare key for key.
"""
from __future__ import annotations

import functools
import os
import platform
import signal
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from modules import backend
from modules.errors import UserError

MLRUNS = Path("mlruns")
STATUS_FOR_EXCEPTION = {KeyboardInterrupt: "KILLED", SystemExit: "KILLED"}


def tracking_uri() -> str:
    """`$MLFLOW_TRACKING_URI`, else the SQLite store `mlruns/mlflow.db` (3.x refuses a file store)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    MLRUNS.mkdir(exist_ok=True)
    return f"sqlite:///{(MLRUNS / 'mlflow.db').resolve()}"


def check_server(uri: str, timeout_s: float = 5.0) -> None:
    """Fail fast, in one line, when a tracking server does not answer (MLflow's own client
    would retry with back-off for minutes)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s):
            return
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise UserError(f"cannot reach the MLflow tracking server at {uri} ({reason}); start it "
                        "(see README: team tracking) or unset/fix MLFLOW_TRACKING_URI") from None


def client():
    """An MlflowClient on `tracking_uri()`, the store created safely and a server checked."""
    return _client()


def _client():
    backend.quiet_environment()
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    if uri.startswith(("http://", "https://")):
        check_server(uri)
    if not uri.startswith("sqlite:"):
        return mlflow.MlflowClient(uri)
    # The first access creates (migrates) the SQLite schema; concurrent processes racing
    # through that fail ("duplicate column"), so one at a time holds a file lock for it.
    import fcntl

    with open(MLRUNS / ".store.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            client = mlflow.MlflowClient(uri)
            client.search_experiments(max_results=1)  # creates the store now, under the lock
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return client


def experiment_id(client, name: str) -> str:
    """The id of experiment `name`, created (artifacts under mlruns/) if new."""
    try:
        found = client.get_experiment_by_name(name)
    except Exception as err:  # noqa: BLE001  (connection errors vary by store)
        raise UserError(f"cannot reach the MLflow tracking store {tracking_uri()} "
                        f"({type(err).__name__}); start the server or fix MLFLOW_TRACKING_URI") from None
    if found is not None:
        return found.experiment_id
    location = None
    if tracking_uri().startswith("sqlite:"):
        location = (MLRUNS / "artifacts" / name).resolve().as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except Exception:  # noqa: BLE001  (created meanwhile by a concurrent run)
        return client.get_experiment_by_name(name).experiment_id


@functools.lru_cache(maxsize=None)  # a study's process opens one run per trial
def library_versions() -> dict[str, str]:
    """Versions of the libraries a run depends on, as MLflow tags."""
    from importlib.metadata import PackageNotFoundError, version

    tags = {"python": platform.python_version()}
    for name in ("torch", "lightning", "tensorflow", "keras", "numpy", "mlflow"):
        try:
            tags[name] = version(name)
        except PackageNotFoundError:
            pass
    return {f"version.{k}": v for k, v in tags.items()}


@functools.lru_cache(maxsize=None)
def git_commit() -> str:
    """The checkout's commit (with `-dirty` if changed), or "unknown" outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class TrackedRun:
    """One MLflow run: params at the start, metrics per epoch, artifacts at the end."""

    def __init__(self, client, run_id: str, skip_epochs_before: int = 0, paced: bool = False) -> None:
        from experiments.pacing import Pacer

        self.client, self.run_id = client, run_id
        self._pending: list = []
        # paced (the runs `tracked_run` opens, flushed when they end): metrics are held and
        # written in batches; otherwise each `log_metrics` writes at once
        self._pacer = Pacer() if paced else None
        # a resumed run recomputes the epochs after its checkpoint; those already logged stay once
        self.skip_epochs_before = skip_epochs_before

    def log_params(self, params: dict) -> None:
        from mlflow.entities import Param

        self.client.log_batch(self.run_id, params=[Param(k, str(v)) for k, v in params.items()])

    def set_tags(self, tags: dict) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_metrics(self, metrics: dict, step: int = 0) -> None:
        """Log metrics; for per-epoch metrics, `step` is the epoch.

        A SQLite write can cost a sizeable share of a short epoch (and a background writer
        thread takes that time from training on a machine with few cores): metrics are held
        and written in one batch as often as `experiments.pacing.Pacer` allows, and at `flush`.
        """
        import time

        from mlflow.entities import Metric

        if step < self.skip_epochs_before:
            return
        now = int(time.time() * 1000)
        self._pending.extend(Metric(k, float(v), now, step) for k, v in metrics.items())
        if self._pacer is None:
            self.flush()
        elif self._pacer.due():
            self._pacer.run(self.flush)

    def flush(self) -> None:
        """Write every held metric now."""
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), 1000):  # MLflow's limit per batch
            self.client.log_batch(self.run_id, metrics=pending[start:start + 1000])

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), folder)


def lab_run(run_id: str, not_found_hint: str, required: tuple = ("framework", "arch", "data"),
            refusal: str = ""):
    """MLflow run `run_id`, made by `nnlab train` (it logged the `required` params); else a
    UserError naming the problem (`not_found_hint` says what to do; `refusal` ends the other)."""
    mlflow_client = client()
    try:
        run = mlflow_client.get_run(run_id)
    except Exception:  # noqa: BLE001  (MlflowException: not found / malformed id)
        raise UserError(f"no MLflow run {run_id!r} in {tracking_uri()}{not_found_hint}") from None
    missing = [k for k in required if k not in run.data.params]
    if missing:
        raise UserError(f"run {run_id} was not made by `nnlab train` (no {', '.join(missing)} params){refusal}")
    return run


def logged_epochs(client, run_id: str) -> int:
    """How many epochs of `run_id` have their metrics logged (steps 0..n-1 of its train keys)."""
    keys = [k for k in client.get_run(run_id).data.metrics if k.startswith("train/")]
    steps = [m.step for key in keys[:1] for m in client.get_metric_history(run_id, key)]
    return max(steps) + 1 if steps else 0


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def tracked_run(experiment: str, run_name: str, params: dict, tags: dict,
                parent_run_id: str | None = None, resume_run_id: str | None = None) -> Iterator[TrackedRun]:
    """Start an MLflow run; it ends FINISHED, FAILED (an error) or KILLED (Ctrl-C, SIGTERM).

    With `resume_run_id`, reopen that run instead (status RUNNING again; params already logged).
    """
    client = _client()
    if resume_run_id:
        client.update_run(resume_run_id, status="RUNNING")
        tracked = TrackedRun(client, resume_run_id, skip_epochs_before=logged_epochs(client, resume_run_id),
                             paced=True)
    else:
        exp_id = experiment_id(client, experiment)
        all_tags = {"mlflow.runName": run_name, "mlflow.source.git.commit": git_commit(),
                    **library_versions(), **tags}
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        # str values: a tracking server's REST store refuses others (SQLite converts them)
        run = client.create_run(exp_id, tags={k: str(v) for k, v in all_tags.items()}, run_name=run_name)
        tracked = TrackedRun(client, run.info.run_id, paced=True)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt) if in_main_thread else None
    status = "FAILED"
    try:
        if not resume_run_id:
            tracked.log_params(params)
        yield tracked
        status = "FINISHED"
    except BaseException as err:
        # KILLED for Ctrl-C and SIGTERM, or what a caller registered in STATUS_FOR_EXCEPTION
        # (a pruned Optuna trial); anything else FAILED, with the reason as the `error` tag
        status = next((s for kind, s in STATUS_FOR_EXCEPTION.items() if isinstance(err, kind)), "FAILED")
        if isinstance(err, Exception):
            tracked.set_tags({"error": f"{type(err).__name__}: {err}"[:500]})
        raise
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        try:
            tracked.flush()
        finally:
            client.set_terminated(tracked.run_id, status)
