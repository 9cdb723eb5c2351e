"""MLflow in a second process: a new run's tracking, started beside the training.

`import mlflow` and opening its SQLite store take seconds (docs/benchmarks.md: start-up) that a
short `nnlab train` would spend before it trains. Started first, this process imports MLflow and
creates the run while the command loads its data and imports its framework on the other core;
the command then sends it params, metrics and files over a pipe (`RemoteRun`: the methods of
`experiments.tracking.TrackedRun`). Each request gets one reply, in order; the command waits for
the replies it needs (the run id, a copied file, the run's end) and reads the others as they come,
so a write that failed (a full disk) is raised in the command at its next request.

The tracking process ignores Ctrl-C and SIGTERM: the command turns them into the run's KILLED
status and says so. Should the command die without ending the run (kill -9, a crash), the pipe
closes and the tracking process marks the run KILLED itself.
"""
from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Iterator

from experiments import tracking
from modules.errors import UserError

END_TIMEOUT_S = 120.0  # how long the command waits for the tracking process to end the run


class TrackingProcessLost(UserError):
    """The tracking process is gone (killed, or crashed with its traceback above)."""


class TrackingProcessError(RuntimeError):
    """An unexpected error in the tracking process, raised again in the command."""


def _report(err: BaseException) -> tuple[str, str, str | None]:
    """An error of the tracking process as (kind, text, file name), for `_raise_again`."""
    if tracking.disk_full_error(err) is not None:
        return "disk_full", str(err), getattr(err, "filename2", None) or getattr(err, "filename", None)
    if isinstance(err, UserError):
        return "user", str(err), None
    return "other", f"{type(err).__name__}: {err}", None


def _raise_again(kind: str, text: str, filename: str | None) -> BaseException:
    """The command's copy of an error `_report` sent: a full disk is an ENOSPC OSError, so
    `tracking.disk_full_error` says the same line as for a run tracked in-process."""
    if kind == "disk_full":
        return OSError(errno.ENOSPC, f"No space left on device ({text})", filename)
    if kind == "user":
        return UserError(text)
    return TrackingProcessError(text)


class TrackingProcess:
    """The command's end of the tracking process: numbered requests, replies in order."""

    def __init__(self) -> None:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        try:
            stdout = sys.stderr.fileno()  # the command's stdout stays its own (`--json` output)
        except (AttributeError, OSError, ValueError):  # a captured stderr without a file
            stdout = None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "experiments.tracking_process", str(request_read), str(reply_write)],
            pass_fds=(request_read, reply_write), stdin=subprocess.DEVNULL, stdout=stdout, env=env)
        os.close(request_read)
        os.close(reply_write)
        self.requests = Connection(request_write, readable=False)
        self.replies = Connection(reply_read, writable=False)
        self.sent = self.answered = 0
        self.kept: dict[int, object] = {}  # the replies asked for by number (`send(keep=True)`)
        self.failure: BaseException | None = None  # the first error not yet raised
        self.closed = False

    def send(self, operation: str, *args, keep: bool = False) -> int:
        """Send a request; its number (`result(number)` waits for its reply if `keep`)."""
        self._read_ready()
        self._raise_failure()
        try:
            self.requests.send((operation, args))
        except OSError:
            raise self._lost() from None
        self.sent += 1
        if keep:
            self.kept[self.sent] = None
        return self.sent

    def call(self, operation: str, *args):
        """Send a request and wait for its reply's value."""
        return self.result(self.send(operation, *args, keep=True))

    def result(self, number: int):
        """The value of request `number`'s reply (sent with `keep`), once it came; an error of
        it, or of an earlier request, is raised."""
        while self.answered < number:
            self._read_one()
        self._raise_failure()
        return self.kept[number]

    def end(self, status: str) -> None:
        """End the run with `status` and wait for the process to exit. An error while doing so is
        raised when the run was to be FINISHED; otherwise the error being raised stays the one."""
        try:
            self.result(self.send("end", status, keep=True))
        except Exception:
            if status == "FINISHED":
                raise
        finally:
            self.close()

    def close(self) -> None:
        """Close the pipes (a tracking process with an open run then marks it KILLED) and wait."""
        if self.closed:
            return
        self.closed = True
        for connection in (self.requests, self.replies):
            with contextlib.suppress(OSError):
                connection.close()
        try:
            self.process.wait(timeout=END_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _read_ready(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            while self.answered < self.sent and self.replies.poll(0):
                self._read_one()

    def _read_one(self) -> None:
        try:
            kind, value = self.replies.recv()
        except (EOFError, OSError):
            raise self._lost() from None
        self.answered += 1
        if kind == "error":
            self.failure = self.failure or _raise_again(*value)
        elif self.answered in self.kept:
            self.kept[self.answered] = value

    def _raise_failure(self) -> None:
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure

    def _lost(self) -> TrackingProcessLost:
        code = self.process.poll()
        if code is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.process.wait(timeout=5)
        return TrackingProcessLost(f"MLflow's tracking process (pid {self.process.pid}) ended unexpectedly "
                                   f"(exit code {code}); the run is left RUNNING until the next nnlab "
                                   "command marks it KILLED; run the command again")


class RemoteRun(tracking.TrackedRun):
    """A `TrackedRun` whose MLflow is the tracking process: metrics are paced and sent as batches,
    files are copied before the call returns (they may live in a temporary folder)."""

    def __init__(self, process: TrackingProcess, opening: int) -> None:
        super().__init__(None, None, paced=True)
        self.process, self.opening = process, opening

    @property
    def run_id(self) -> str:
        """The run's id, once the tracking process has created it (it waits for that)."""
        return self.process.result(self.opening)

    @run_id.setter
    def run_id(self, value) -> None:  # TrackedRun.__init__ sets it; the process creates it
        pass

    def opened_run_id(self) -> str | None:
        """The run's id, or None if the tracking process could not create it."""
        try:
            return self.run_id
        except Exception:  # noqa: BLE001  (raised to the command already, or a lost process)
            return None

    def _log_batch(self, params: dict | None = None, tags: dict | None = None,
                   metrics: list | None = None) -> None:
        self.process.send("log", params, tags, metrics)

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        self.process.call("artifact", str(path), folder)

    def log_dataset_inputs(self, datamodule, splits=("train", "val", "test")) -> None:
        self.process.send("datasets", tracking.dataset_inputs(datamodule, splits))

    def log_plots(self, task_scorer, outputs, datamodule, history: list[dict], folder: Path, title: str) -> None:
        """A scorer with a `plot_payload` has its plots drawn and logged by the tracking process,
        which imported matplotlib while this one trained; others draw here."""
        if not hasattr(task_scorer, "plot_payload"):
            super().log_plots(task_scorer, outputs, datamodule, history, folder, title)
            return
        self.process.send("plots", task_scorer.__name__, task_scorer.plot_payload(outputs, datamodule, history, title))

    def log_model(self, payload: dict, weights: Path) -> None:
        """Start logging the MLflow Model and return: the command draws the run's plots meanwhile.
        `weights` must stay until a later call that waits (`log_artifact`, the run's end); no
        ModelInfo comes back (`--register` runs are tracked in-process)."""
        self.process.send("model", payload, str(weights))


@contextmanager
def remote_run(experiment: str, run_name: str, params: dict, tags: dict,
               parent_run_id: str | None = None) -> Iterator[RemoteRun]:
    """`experiments.tracking.tracked_run` for a new run, its MLflow in a tracking process: the
    same params, tags, statuses (FINISHED, FAILED, KILLED) and one-line errors."""
    process = TrackingProcess()
    run = RemoteRun(process, process.send("open", experiment, run_name, params, tags, parent_run_id,
                                          os.getpid(), tracking.command_name(), keep=True))
    with tracking.ended_by_how_it_stops(run, tracking.is_resumable(params), process.end):
        yield run


# --- the tracking process ------------------------------------------------------------------
class Session:
    """The tracking process's side: one run, opened, written and ended as the command asks."""

    def __init__(self) -> None:
        self.client = self.run = self.heartbeat = None
        self.owner, self.resumable = None, False

    def open(self, experiment, run_name, params, tags, parent_run_id, owner_pid, command) -> str:
        self.owner, self.resumable = owner_pid, tracking.is_resumable(params)
        self.client = tracking.client()
        self.run = tracking.start_run(self.client, experiment, run_name, tags, parent_run_id,
                                      owner_pid=owner_pid, command=command)
        self.heartbeat = tracking.Heartbeat(self.client, self.run.run_id).start()
        self.run.log_params(params)
        return self.run.run_id

    def log(self, params, tags, metrics) -> None:
        self.run._log_batch(params, tags, metrics)

    def artifact(self, path: str, folder: str | None) -> None:
        self.run.log_artifact(Path(path), folder)

    def datasets(self, inputs: list[dict]) -> None:
        tracking.log_dataset_inputs(self.client, self.run.run_id, inputs)

    def model(self, payload: dict, weights: str) -> None:
        import tempfile

        from experiments import mlflow_model

        with tempfile.TemporaryDirectory() as tmp:
            mlflow_model.log_payload(self.run.run_id, payload, Path(weights), Path(tmp), validate=False)

    def plots(self, scorer_name: str, payload: dict) -> None:
        import importlib
        import tempfile

        if not scorer_name.startswith("experiments.tasks."):
            raise TrackingProcessError(f"not a scorer of the lab's tasks: {scorer_name!r}")
        with tempfile.TemporaryDirectory() as tmp:
            for path in importlib.import_module(scorer_name).draw_plots(payload, Path(tmp)):
                self.run.log_artifact(path, "plots")

    def end(self, status: str) -> None:
        if self.run is None:  # it was never created: nothing to end
            return
        run, self.run = self.run, None
        self.heartbeat.stop()
        tracking.end_run(self.client, run.run_id, status, self.resumable)

    def owner_lost(self) -> None:
        """The command closed the pipe without ending the run: mark it KILLED, saying why."""
        if self.run is None:
            return
        with contextlib.suppress(Exception):
            self.run.set_tags({"error": f"owner lost: pid {self.owner} ended without ending the run"})
        with contextlib.suppress(Exception):
            self.end("KILLED")


OPERATIONS = ("open", "log", "artifact", "datasets", "model", "plots", "end")


def serve(request_fd: int, reply_fd: int) -> int:
    """The tracking process's loop: run each request, reply, until `end` or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command decides what Ctrl-C means
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    requests = Connection(request_fd, writable=False)
    replies = Connection(reply_fd, readable=False)
    session = Session()
    while True:
        try:
            operation, args = requests.recv()
        except (EOFError, OSError):
            session.owner_lost()
            return 0
        try:
            if operation not in OPERATIONS:
                raise TrackingProcessError(f"unknown request {operation!r}")
            reply = ("ok", getattr(session, operation)(*args))
        except Exception as err:  # noqa: BLE001  (raised again in the command)
            reply = ("error", _report(err))
        try:
            replies.send(reply)
        except OSError:
            session.owner_lost()
            return 0
        if operation == "end":
            return 0
        if operation == "open":  # while the command trains: matplotlib for the plots at the end
            from experiments import plots

            with contextlib.suppress(Exception):
                plots.warm_up()


if __name__ == "__main__":
    from modules import backend

    backend.quiet_environment()
    code = serve(int(sys.argv[1]), int(sys.argv[2]))
    # Every write is committed by now. A normal exit would tear down MLflow's thousands of modules
    # and SQLAlchemy's pool first, about 0.7 s that the command waits for: skip it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
