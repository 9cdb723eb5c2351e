"""MLflow conventions: where runs go and the names of their params, metrics, tags
and artifacts. Both frameworks log through here, so their runs compare key for key.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import platform
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

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


def store_folder(uri: str | None = None) -> Path | None:
    """The folder of a SQLite store's file (`sqlite:////abs/mlflow.db`, `sqlite:///rel.db`);
    None for a server or an in-memory store."""
    uri = uri or tracking_uri()
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    return Path(path).parent if path and path != ":memory:" else None


def client():
    """An MlflowClient on `tracking_uri()`, the store created safely and a server checked;
    runs whose owner is gone are marked KILLED (`mark_ghost_runs`), once per process and store."""
    backend.quiet_environment()
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    # MLflow's SQL store logs each database error with its traceback, then raises it; nnlab
    # reports what it raises in one line (a full disk: `disk_full_error`)
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    if uri.startswith(("http://", "https://")):
        check_server(uri)
    folder = store_folder(uri)
    if folder is None:
        mlflow_client = mlflow.MlflowClient(uri)
    else:
        mlflow_client = _open_sqlite_store(mlflow, uri, folder)
    if uri not in _GHOSTS_CHECKED:
        _GHOSTS_CHECKED.add(uri)
        mark_ghost_runs(mlflow_client)
    return mlflow_client


_GHOSTS_CHECKED: set[str] = set()  # the stores this process has looked for ghost runs in


def _open_sqlite_store(mlflow, uri: str, folder: Path):
    if not folder.is_dir():
        raise UserError(f"MLFLOW_TRACKING_URI names a SQLite file in {folder}/, which does not exist; "
                        "create the folder or fix MLFLOW_TRACKING_URI")
    # The first access creates (migrates) the SQLite schema; concurrent processes racing
    # through that fail ("duplicate column"), so one at a time holds a file lock for it,
    # beside the store it guards (the store need not be under the current folder).
    import fcntl

    try:
        with open(folder / ".store.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                mlflow_client = mlflow.MlflowClient(uri)
                mlflow_client.search_experiments(max_results=1)  # creates the store now, under the lock
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    except Exception as err:  # noqa: BLE001  (a full disk while the store is created)
        full = disk_full_error(err)
        if full is None:
            raise
        raise full from None
    return mlflow_client


# --- ownership: no run is left RUNNING by a process that is gone --------------------------
OWNER_HOST, OWNER_PID, HEARTBEAT = "nnlab.owner.host", "nnlab.owner.pid", "nnlab.heartbeat"
HEARTBEAT_S = 60.0  # a running run's heartbeat tag is rewritten this often (one small write)
STALE_AFTER_S = 10 * HEARTBEAT_S  # a run whose heartbeat is older than this has lost its owner


def owner_tags(pid: int | None = None) -> dict:
    """Tags naming this process (or process `pid` on this host) as a run's owner, with a fresh
    heartbeat."""
    import socket
    import time

    return {OWNER_HOST: socket.gethostname(), OWNER_PID: pid or os.getpid(), HEARTBEAT: f"{time.time():.0f}"}


def owner_gone(tags: dict, now: float | None = None) -> str | None:
    """Why the owner of a RUNNING run with `tags` is gone (None: it is alive, or the run has no
    owner tags). The same host: its pid is dead; any host: its heartbeat is older than `STALE_AFTER_S`
    (another host's pid cannot be checked; on this one a pid may have been reused)."""
    import socket
    import time

    host = tags.get(OWNER_HOST)
    try:
        pid, beat = int(tags[OWNER_PID]), float(tags.get(HEARTBEAT) or 0)
    except (KeyError, ValueError):  # not a run of this lab's, or tags edited by hand: left alone
        return None
    if host is None:
        return None
    if host == socket.gethostname() and pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"pid {pid} on {host} is gone"
        except PermissionError:  # alive, another user's
            pass
    age = (now or time.time()) - beat
    if age > STALE_AFTER_S:
        return f"pid {pid} on {host} sent no heartbeat for {age / 60:.0f} min"
    return None


def mark_ghost_runs(mlflow_client, say=None) -> list[str]:
    """Mark KILLED every RUNNING run whose owner is gone (as Optuna fails trials whose heartbeat
    stopped), with one line each on stderr saying how to resume it; return their ids."""
    import sys

    say = say or (lambda line: print(line, file=sys.stderr))
    try:
        experiments = [e.experiment_id for e in mlflow_client.search_experiments(max_results=1000)]
        running = mlflow_client.search_runs(experiments, filter_string="attributes.status = 'RUNNING'",
                                            max_results=1000) if experiments else []
    except Exception:  # noqa: BLE001  (a store this client cannot search: nothing to do)
        return []
    marked = []
    for run in running:
        reason = owner_gone(run.data.tags)
        if reason is None:
            continue
        run_id = run.info.run_id
        try:
            mlflow_client.set_tag(run_id, "error", f"owner lost: {reason}")
            mlflow_client.set_terminated(run_id, "KILLED")
        except Exception:  # noqa: BLE001  (a full or read-only store: a later command tries again)
            continue
        hint, study = "", run.data.tags.get("optuna.study")
        if study:  # a study's run, or one of its trials' (Optuna runs a lost trial again)
            hint = f"; resume with the same nnlab tune --study {study} command"
        elif all(k in run.data.params for k in ("framework", "arch", "data", "epochs")):
            hint = f"; resume with nnlab train --resume {run_id}"
        say(f"nnlab: run {run_id} ({run.info.run_name}) was left RUNNING ({reason}): marked KILLED{hint}")
        marked.append(run_id)
    return marked


class Heartbeat:
    """A daemon thread that rewrites a run's heartbeat tag every `HEARTBEAT_S` seconds (or less
    often, should a write ever cost more than `experiments.pacing.DEFAULT_SHARE` of that time),
    so that `mark_ghost_runs` can tell a live run from one whose process was killed."""

    def __init__(self, mlflow_client, run_id: str, interval_s: float = HEARTBEAT_S) -> None:
        self.client, self.run_id, self.interval_s = mlflow_client, run_id, interval_s
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def start(self) -> "Heartbeat":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def _beat(self) -> None:
        import time

        from experiments.pacing import DEFAULT_SHARE

        wait = self.interval_s
        while not self.stopped.wait(wait):
            start = time.perf_counter()
            try:
                self.client.set_tag(self.run_id, HEARTBEAT, f"{time.time():.0f}")
            except Exception:  # noqa: BLE001  (a busy or full store: the next beat tries again)
                pass
            wait = max(self.interval_s, (time.perf_counter() - start) / DEFAULT_SHARE)


# --- a full disk ---------------------------------------------------------------------------
DISK_FULL_TEXTS = ("database or disk is full", "no space left on device", "disk quota exceeded")


def disk_full_error(err: BaseException, run_id: str | None = None, resumable: bool = False) -> UserError | None:
    """A one-line UserError if `err` (or an error it was raised from) is a full disk, naming the
    folder it could not write and what to do once space is free; else None."""
    import errno

    seen, folder = set(), None
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        full = isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)
        if full or any(text in str(err).lower() for text in DISK_FULL_TEXTS):
            # a copy's OSError names its source first and the file it could not write second
            filename = getattr(err, "filename2", None) or getattr(err, "filename", None)
            folder = Path(filename).parent if filename else store_folder() or MLRUNS
            break
        err = err.__cause__ or err.__context__
    if folder is None:
        return None
    what = f" while writing run {run_id}" if run_id else ""
    then = f"resume with nnlab train --resume {run_id}" if resumable and run_id else "run it again"
    return UserError(f"no space left on the disk of {folder}/{what}; free space there, then {then}")


# MLflow 3's UI opens an experiment without this tag in its GenAI view (traces, no metric columns);
# "custom_model_development" opens the classic runs table (mlflow/server/js: ExperimentKind).
EXPERIMENT_KIND, MODEL_DEVELOPMENT = "mlflow.experimentKind", "custom_model_development"


def experiment_id(client, name: str) -> str:
    """The id of experiment `name`, created (artifacts under mlruns/) if new."""
    try:
        found = client.get_experiment_by_name(name)
    except Exception as err:  # noqa: BLE001  (connection errors vary by store)
        if getattr(err, "get_http_status_code", lambda: None)() in (401, 403):  # a basic-auth server
            raise UserError(f"the MLflow server {tracking_uri()} refused the credentials (HTTP "
                            f"{err.get_http_status_code()}); set MLFLOW_TRACKING_USERNAME and "
                            "MLFLOW_TRACKING_PASSWORD to a user of the server (README: team tracking)") from None
        raise UserError(f"cannot reach the MLflow tracking store {tracking_uri()} "
                        f"({type(err).__name__}); start the server or fix MLFLOW_TRACKING_URI") from None
    if found is not None:
        if EXPERIMENT_KIND not in found.tags:  # made by an older nnlab, or by hand
            with contextlib.suppress(Exception):
                client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND, MODEL_DEVELOPMENT)
        return found.experiment_id
    location, folder = None, store_folder()
    if folder is not None:  # artifacts beside the SQLite store
        location = (folder / "artifacts" / name).resolve().as_uri()
    try:
        return client.create_experiment(name, artifact_location=location,
                                        tags={EXPERIMENT_KIND: MODEL_DEVELOPMENT})
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


# What the DVC pipeline writes (dvc.yaml's outs, metrics and plots, and what its stages leave in
# place): a checkout whose only changes are these is the commit itself, not a modified one.
PIPELINE_OUTPUTS = ("dvc.lock", "metrics/", "reports/", "data/", "mlruns/")


@functools.lru_cache(maxsize=None)
def git_state() -> tuple[str, tuple[str, ...]]:
    """(the checkout's commit, the changed tracked paths that are not pipeline outputs);
    ("unknown", ()) outside git. Changes to `pipeline_outputs()` (a fresh clone's `dvc repro`
    rewrites dvc.lock, metrics/, reports/) leave the commit clean."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        root = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown", ()
    outputs = pipeline_outputs(Path(root))
    changed = [line[3:].split(" -> ")[-1].strip('"') for line in status.splitlines() if len(line) > 3]
    return sha, tuple(p for p in changed if not any(p == o.rstrip("/") or p.startswith(o) for o in outputs))


def pipeline_outputs(root: Path) -> tuple[str, ...]:
    """`PIPELINE_OUTPUTS` and every out, metric and plot of `root`/dvc.yaml (a templated path
    counts from its first `${`: `metrics/train/${item.framework}.json` -> `metrics/train/`)."""
    import yaml

    try:
        stages = (yaml.safe_load((root / "dvc.yaml").read_text()) or {}).get("stages", {})
    except (OSError, yaml.YAMLError):
        return PIPELINE_OUTPUTS
    found = []
    for stage in stages.values():
        for kind in ("outs", "metrics", "plots"):
            for entry in stage.get(kind, []) if isinstance(stage, dict) else []:
                path = next(iter(entry)) if isinstance(entry, dict) else str(entry)
                found.append(path.split("${", 1)[0])
    return PIPELINE_OUTPUTS + tuple(p for p in found if p)


def git_commit() -> str:
    """The checkout's commit, or "unknown" outside git (its changes: `git_state`)."""
    return git_state()[0]


def command_name() -> str:
    """How this process was started, as MLflow's Source column shows it: `nnlab train`, ..."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if program in ("nnlab", "__main__.py") and len(sys.argv) > 1:
        return f"nnlab {sys.argv[1]}"
    return program


def source_tags(command: str | None = None) -> dict:
    """MLflow's source tags (Source column: `command`, default this process's `command_name`;
    type; git commit) plus the DVC stage or experiment running this process and the changed
    paths that are not pipeline outputs (`nnlab.git.dirty`, absent on a clean checkout)."""
    sha, dirty = git_state()
    tags = {"mlflow.source.type": "LOCAL", "mlflow.source.name": command or command_name(),
            "mlflow.source.git.commit": sha}
    if os.environ.get("DVC_STAGE"):  # set by `dvc repro` / `dvc exp run` for each stage's command
        tags["nnlab.dvc_stage"] = os.environ["DVC_STAGE"]
        tags["mlflow.source.name"] = f"dvc repro {os.environ['DVC_STAGE']}"
    if os.environ.get("DVC_EXP_NAME"):
        tags["nnlab.dvc_exp"] = os.environ["DVC_EXP_NAME"]
    if dirty:
        tags["nnlab.git.dirty"] = " ".join(dirty)[:5000]
    return tags


ORIGIN_TAG = "nnlab.source"  # stage, trial, refit, study, curve or command: where a run comes from
CURVE_TAG = "nnlab.curve"  # `nnlab curve`'s parent run and its points: `<data>-<arch>`


def run_origin(label: str, tags: dict) -> tuple[str, dict]:
    """The name and `ORIGIN_TAG` of a training run of `label` (e.g. `torch-lenet5`), from its
    `tags`: an Optuna trial `tune:STUDY#12 torch-lenet5`, the refit of `nnlab best`
    `best:STUDY#12 torch-lenet5`, a DVC stage `stage:train@torch-lenet5`, else the command's
    `train:torch-lenet5`, a point of `nnlab curve` `curve:mnist_5k-lenet5 torch-lenet5 n=1000 seed=0`.
    Runs of one origin sort and filter together in the MLflow UI."""
    stage = os.environ.get("DVC_STAGE")
    if CURVE_TAG in tags:
        return f"curve:{tags[CURVE_TAG]} {label} {tags.get('curve.point', '')}".rstrip(), {ORIGIN_TAG: "curve"}
    if "optuna.trial" in tags:
        return f"tune:{tags.get('optuna.study')}#{tags['optuna.trial']} {label}", {ORIGIN_TAG: "trial"}
    if "optuna.best_trial" in tags:
        return f"best:{tags.get('optuna.study')}#{tags['optuna.best_trial']} {label}", {ORIGIN_TAG: "refit"}
    if stage:
        return f"stage:{stage}", {ORIGIN_TAG: "stage"}
    return f"train:{label}", {ORIGIN_TAG: "command"}


def dataset_inputs(datamodule, splits=("train", "val", "test")) -> list[dict]:
    """Each split of `datamodule` as a plain description of an MLflow dataset input (name, digest,
    source, split), built without MLflow (`log_dataset_inputs` logs them)."""
    path = datamodule.prepared_path() if hasattr(datamodule, "prepared_path") else None
    source = {"nnlab.data": datamodule.name, "split_seed": str(datamodule.split_seed),
              **({"file": str(Path(path).resolve())} if path and Path(path).is_file() else {})}
    return [{"name": f"{datamodule.name}-{split}", "digest": datamodule.split_digest(split),
             "source": source, "split": split} for split in splits if split in datamodule.splits]


def log_dataset_inputs(mlflow_client, run_id: str, inputs: list[dict]) -> None:
    """Log `dataset_inputs` to run `run_id` (the context tag says the split), so the runs table's
    Dataset column names what was trained on."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag

    datasets = []
    for found in inputs:
        dataset = MetaDataset(CodeDatasetSource(found["source"]), name=found["name"], digest=found["digest"])
        datasets.append(DatasetInput(dataset._to_mlflow_entity(),
                                     tags=[InputTag("mlflow.data.context", found["split"])]))
    mlflow_client.log_inputs(run_id, datasets=datasets)


class TrackedRun:
    """One MLflow run: params at the start, metrics per epoch, artifacts at the end.

    Every write goes through `_log_batch` and `log_artifact`, so a run whose MLflow lives in
    another process (`experiments.tracking_process.RemoteRun`) overrides just those."""

    def __init__(self, client, run_id: str | None, skip_epochs_before: int = 0, paced: bool = False) -> None:
        from experiments.pacing import Pacer

        self.client, self.run_id = client, run_id
        self._pending: list = []
        # paced (the runs `tracked_run` opens, flushed when they end): metrics are held and
        # written in batches; otherwise each `log_metrics` writes at once
        self._pacer = Pacer() if paced else None
        # a resumed run recomputes the epochs after its checkpoint; those already logged stay once
        self.skip_epochs_before = skip_epochs_before

    def _log_batch(self, params: dict | None = None, tags: dict | None = None,
                   metrics: list | None = None) -> None:
        """Write `params` and `tags` ({key: value}) and `metrics` ([(key, value, ms, step)])."""
        from mlflow.entities import Metric, Param, RunTag

        self.client.log_batch(self.run_id, params=[Param(k, str(v)) for k, v in (params or {}).items()],
                              tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
                              metrics=[Metric(k, v, ms, step) for k, v, ms, step in metrics or ()])

    def log_params(self, params: dict) -> None:
        self._log_batch(params=params)

    def set_tags(self, tags: dict) -> None:
        self._log_batch(tags=tags)

    def log_metrics(self, metrics: dict, step: int = 0, epoch_step: bool = True) -> None:
        """Log metrics; for per-epoch metrics, `step` is the epoch, counted from 1 (the step of
        epoch 1 is 1, as the terminal and Optuna count it). A resumed run skips the epoch steps
        it already holds; `epoch_step=False` (the test metrics at the end) is always written.

        A SQLite write can cost a sizeable share of a short epoch (and a background writer
        thread takes that time from training on a machine with few cores): metrics are held
        and written in one batch as often as `experiments.pacing.Pacer` allows, and at `flush`.
        """
        import time

        if epoch_step and step < self.skip_epochs_before:
            return
        now = int(time.time() * 1000)
        self._pending.extend((k, float(v), now, step) for k, v in metrics.items())
        if self._pacer is None:
            self.flush()
        elif self._pacer.due():
            self._pacer.run(self.flush)

    def flush(self) -> None:
        """Write every held metric now."""
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), 1000):  # MLflow's limit per batch
            self._log_batch(metrics=pending[start:start + 1000])

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), folder)

    def opened_run_id(self) -> str | None:
        """The run's id (None where the run could not be created: `RemoteRun`)."""
        return self.run_id

    def log_dataset_inputs(self, datamodule, splits=("train", "val", "test")) -> None:
        """The splits of `datamodule` as the run's dataset inputs (`dataset_inputs`)."""
        log_dataset_inputs(self.client, self.run_id, dataset_inputs(datamodule, splits))

    def log_plots(self, task_scorer, outputs, datamodule, history: list[dict], folder: Path, title: str) -> None:
        """Draw the run's plots (`task_scorer.artifacts`) into `folder` and log them under `plots/`."""
        for path in task_scorer.artifacts(outputs, datamodule, history, folder, title):
            self.log_artifact(path, "plots")

    def log_model(self, payload: dict, weights: Path):
        """Log the network described by `payload` (`experiments.mlflow_model.model_payload`), its
        weights in `weights`, as the run's MLflow Model; its ModelInfo."""
        import tempfile

        from experiments import mlflow_model

        with tempfile.TemporaryDirectory() as tmp:
            return mlflow_model.log_payload(self.run_id, payload, weights, Path(tmp))


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
    """How many epochs of `run_id` have their metrics logged (steps 1..n of its train keys)."""
    keys = [k for k in client.get_run(run_id).data.metrics if k.startswith("train/")]
    steps = [m.step for key in keys[:1] for m in client.get_metric_history(run_id, key)]
    return max(steps) if steps else 0


@contextmanager
def system_metrics(run_id: str, enabled: bool, resumed: bool = False) -> Iterator[None]:
    """While open, MLflow's own `SystemMetricsMonitor` logs `system/cpu_utilization_percentage`,
    `system/system_memory_usage_megabytes`, ... (GPU ones where pynvml finds a GPU) to run `run_id`
    every 10 s (MLflow's default; `MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL` changes it)."""
    if not enabled:
        yield
        return
    from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

    monitor = SystemMetricsMonitor(run_id, resume_logging=resumed, tracking_uri=tracking_uri())
    monitor.start()
    try:
        yield
    finally:
        monitor.finish()
        # MLflow drops the samples of an unfinished interval, so a run shorter than one interval
        # would record nothing: log what was collected since the last interval
        with contextlib.suppress(Exception):
            pending = monitor.aggregate_metrics()
            if pending:
                monitor.publish_metrics(pending)
                monitor.mlflow_logger.flush()


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def tracked_run(experiment: str, run_name: str, params: dict, tags: dict,
                parent_run_id: str | None = None, resume_run_id: str | None = None,
                own_process: bool = False) -> Iterator[TrackedRun]:
    """Start an MLflow run; it ends FINISHED, FAILED (an error) or KILLED (Ctrl-C, SIGTERM).

    With `resume_run_id`, reopen that run instead (status RUNNING again; params already logged).
    The run names this process its owner and keeps a heartbeat (`Heartbeat`) while it is open,
    so that a `kill -9` leaves a run the next command marks KILLED (`mark_ghost_runs`). A full
    disk is one line naming the folder (`disk_full_error`), the run FAILED if the store still
    takes that write.

    `own_process=True` (a new run in a process that has not imported MLflow): MLflow runs in a
    second process (`experiments.tracking_process`) that imports it and opens the run while this
    one goes on, so its seconds of start-up overlap the framework's import on another core.
    """
    if own_process and resume_run_id is None and not mlflow_loaded():
        from experiments import tracking_process

        with tracking_process.remote_run(experiment, run_name, params, tags, parent_run_id) as run:
            yield run
        return
    mlflow_client = client()
    resumable = is_resumable(params)
    tracked = start_run(mlflow_client, experiment, run_name, tags, parent_run_id, resume_run_id)
    heartbeat = Heartbeat(mlflow_client, tracked.run_id).start()

    def end(status: str) -> None:
        heartbeat.stop()
        end_run(mlflow_client, tracked.run_id, status, resumable)

    with ended_by_how_it_stops(tracked, resumable, end):
        if not resume_run_id:
            tracked.log_params(params)
        yield tracked


@contextmanager
def ended_by_how_it_stops(run: TrackedRun, resumable: bool, end: Callable[[str], None]) -> Iterator[None]:
    """Around the body of a run (in this process or a tracking process): SIGTERM stops it as
    Ctrl-C does, and on leaving `end(status)` is called: FINISHED once its last metrics are
    written, else what `record_stop` makes of the error (a full disk raised as its one line)."""
    status = "FAILED"
    with terminate_as_interrupt():
        try:
            yield
            run.flush()
            status = "FINISHED"
        except BaseException as err:
            status, full = record_stop(run, err, run.opened_run_id(), resumable)
            if full is not None:
                raise full from None
            raise
        finally:
            end(status)


def is_resumable(params: dict) -> bool:
    """Whether a run with `params` is an `nnlab train` run, which `nnlab train --resume` can
    continue (`experiments.resume` reads its params)."""
    return "epochs" in params


def mlflow_loaded() -> bool:
    """Whether this process has imported MLflow already (a tracking process would gain nothing)."""
    return "mlflow" in sys.modules


def start_run(mlflow_client, experiment: str, run_name: str, tags: dict, parent_run_id: str | None = None,
              resume_run_id: str | None = None, owner_pid: int | None = None,
              command: str | None = None) -> TrackedRun:
    """Create run `run_name` in `experiment` with `tags` (or reopen `resume_run_id`), owned by
    this process (or `owner_pid`); a full disk is one line (`disk_full_error`)."""
    try:
        if resume_run_id:
            tracked = TrackedRun(mlflow_client, resume_run_id, paced=True,
                                 skip_epochs_before=logged_epochs(mlflow_client, resume_run_id) + 1)
            tracked.set_tags(owner_tags(owner_pid))  # the new owner, then RUNNING
            if "error" in mlflow_client.get_run(resume_run_id).data.tags:  # why it stopped: no longer so
                mlflow_client.delete_tag(resume_run_id, "error")
            mlflow_client.update_run(resume_run_id, status="RUNNING")
            return tracked
        exp_id = experiment_id(mlflow_client, experiment)
        all_tags = {"mlflow.runName": run_name, **source_tags(command),
                    **library_versions(), **owner_tags(owner_pid), **tags}
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        # str values: a tracking server's REST store refuses others (SQLite converts them)
        run = mlflow_client.create_run(exp_id, tags={k: str(v) for k, v in all_tags.items()},
                                       run_name=run_name)
        return TrackedRun(mlflow_client, run.info.run_id, paced=True)
    except Exception as err:  # noqa: BLE001  (no run to end yet)
        full = disk_full_error(err)
        if full is None:
            raise
        raise full from None


def record_stop(run: TrackedRun, err: BaseException, run_id: str | None,
                resumable: bool) -> tuple[str, UserError | None]:
    """A run stopped by `err`: write what was measured and, for an error, the reason as its `error`
    tag (if the store still takes them; `run_id` None: the run was never created). Returns the end
    status (KILLED for Ctrl-C and SIGTERM, or what a caller registered in `STATUS_FOR_EXCEPTION`,
    e.g. a pruned Optuna trial, which is no error; else FAILED) and the one-line error to raise
    instead of `err` (a full disk), or None."""
    status = next((s for kind, s in STATUS_FOR_EXCEPTION.items() if isinstance(err, kind)), "FAILED")
    full = disk_full_error(err, run_id, resumable)
    with contextlib.suppress(Exception):  # what was measured, if the store still takes it
        run.flush()
    if isinstance(err, Exception) and status != "FINISHED" and run_id is not None:
        with contextlib.suppress(Exception):
            run.set_tags({"error": str(full) if full else f"{type(err).__name__}: {err}"[:500]})
    return status, full


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While open (in the main thread), SIGTERM raises KeyboardInterrupt, so a run ends KILLED."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt) if in_main_thread else None
    try:
        yield
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def end_run(client, run_id: str, status: str, resumable: bool) -> None:
    """Set the run's end status; on a full disk say that it stays RUNNING until a later command
    marks it KILLED (its owner, this process, will be gone)."""
    try:
        client.set_terminated(run_id, status)
    except Exception as err:  # noqa: BLE001
        full = disk_full_error(err, run_id, resumable)
        if full is None:
            raise
        print(f"nnlab: the MLflow store is full too: run {run_id} could not be marked {status}; "
              "the next nnlab command marks it KILLED", file=sys.stderr)
        if status == "FINISHED":
            raise full from None
