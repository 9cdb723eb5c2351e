"""Where studies live, and how a trial whose worker died stops being RUNNING.

- default: SQLite `mlruns/optuna.db`, next to the MLflow store, so running the
  same `nnlab tune --study NAME` again resumes the study;
- `--jobs N` (N > 1) without `--storage`: a JournalStorage file
  `mlruns/optuna.journal` that N worker processes on one host share safely;
- `--storage URL`: any Optuna RDB URL (`postgresql://...` for several hosts),
  or a journal file given as `journal:PATH` or a path ending in `.journal`/`.log`.

Every storage gets a heartbeat: a worker records one every HEARTBEAT_S seconds
while its trial runs; a RUNNING trial without one for GRACE_S seconds is failed
(Optuna checks before each new trial). A worker killed on this host is noticed
at once: its trial records host and pid, and a study that starts fails the
RUNNING trials of dead local processes.
"""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Callable

from modules.errors import UserError

DEFAULT_SQLITE = Path("mlruns") / "optuna.db"
DEFAULT_JOURNAL = Path("mlruns") / "optuna.journal"
HEARTBEAT_S = 10
GRACE_S = 60
WORKER_ATTR = "worker"  # trial user attr "host:pid" of the process running it
LOST_ATTR = "worker_lost"  # why a trial was failed for its dead worker (local deaths only)
# how `--jobs` workers get the storage URL: the environment, readable by the owner only, not
# argv, which every local user can read (/proc/PID/cmdline) and the URL may hold a password
WORKER_URL_ENV = "NNLAB_TUNE_STORAGE_URL"


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_journal(url: str) -> bool:
    return url.startswith("journal:") or url.endswith((".journal", ".log"))


def journal_path(url: str) -> Path:
    return Path(url.removeprefix("journal:").removeprefix("///") if url.startswith("journal:") else url)


def default_url(jobs: int, study_name: str | None = None) -> str:
    """The default storage: the default file that already holds `study_name`, else by `jobs`."""
    sqlite_url = f"sqlite:///{DEFAULT_SQLITE.resolve()}"
    journal_url = f"journal:{DEFAULT_JOURNAL.resolve()}"
    if study_name:
        for url, path in ((sqlite_url, DEFAULT_SQLITE), (journal_url, DEFAULT_JOURNAL)):
            if path.is_file() and study_name in study_names(open_storage(url)):
                return url
    return journal_url if jobs > 1 else sqlite_url


def study_names(storage) -> list[str]:
    return [s.study_name for s in storage.get_all_studies()]


def _heartbeat_journal_class():
    """JournalStorage with Optuna's heartbeat protocol (Optuna gives it to RDB storages only)."""
    from optuna.storages import JournalStorage
    from optuna.storages._heartbeat import BaseHeartbeat
    from optuna.trial import TrialState

    class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
        def __init__(self, backend, heartbeat_interval: int, grace_period: int,
                     stale_trial_callback: Callable | None = None) -> None:
            super().__init__(backend)
            self._interval, self._grace, self._stale_callback = heartbeat_interval, grace_period, stale_trial_callback

        def record_heartbeat(self, trial_id: int) -> None:
            self.set_trial_system_attr(trial_id, "heartbeat", time.time())

        def _get_stale_trial_ids(self, study_id: int) -> list[int]:
            now = time.time()
            stale = []
            for trial in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
                beat = trial.system_attrs.get("heartbeat")
                last = beat if beat is not None else trial.datetime_start.timestamp()
                if now - last > self._grace:
                    stale.append(trial._trial_id)
            return stale

        def get_heartbeat_interval(self) -> int | None:
            return self._interval

        def get_heartbeat_stale_trial_callback(self):
            return self._stale_callback

    return HeartbeatJournalStorage


def open_storage(url: str, stale_trial_callback: Callable | None = None):
    """An Optuna storage for `url`, with heartbeat; an unreachable one is one UserError line."""
    import optuna

    if is_journal(url):
        from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

        path = journal_path(url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            backend = JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))
        except OSError as err:
            raise UserError(f"cannot open the journal storage {path} ({err.strerror}); "
                            f"fix --storage") from None
        return _heartbeat_journal_class()(backend, HEARTBEAT_S, GRACE_S, stale_trial_callback)
    if "://" not in url:
        raise UserError(f"--storage {url!r} is not an Optuna storage URL; use sqlite:///FILE, "
                        f"postgresql://USER@HOST/DB or journal:FILE")
    engine_kwargs = {}
    if url.startswith("sqlite:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 60}}  # workers wait for each other's writes
    elif url.startswith("postgresql"):
        engine_kwargs = {"connect_args": {"connect_timeout": 10}}
        url = _postgres_driver(url)
    try:
        for attempt in range(3):
            try:
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                                  heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                                                  heartbeat_stale_trial_callback=stale_trial_callback)
            except ImportError:
                raise
            except Exception as err:  # noqa: BLE001  (two processes creating a fresh schema at once)
                racing = url.startswith("sqlite:") or any(
                    marker in str(err) for marker in ("duplicate key", "already exists", "UniqueViolation"))
                if attempt == 2 or not racing:
                    raise
                time.sleep(1 + attempt)
    except ImportError as err:
        missing = getattr(err.__cause__, "name", None) or "its driver"
        raise UserError(f"--storage {url.split(':')[0]}: the database driver is missing ({missing}); "
                        f"install it (pip install psycopg2-binary for PostgreSQL)") from None
    except Exception as err:  # noqa: BLE001  (SQLAlchemy and drivers raise many kinds)
        reason = str(getattr(err, "orig", err) or type(err).__name__).strip().splitlines()[0]
        raise UserError(f"cannot reach the study storage {redact(url)} ({reason}); "
                        f"start the database or fix --storage") from None


def _postgres_driver(url: str) -> str:
    """`postgresql://` with the driver that is installed: SQLAlchemy 2.1 assumes psycopg 3,
    the lab's dev extra installs psycopg2."""
    if not url.startswith("postgresql://"):
        return url
    import importlib.util

    if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
        return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url


def redact(url: str) -> str:
    """`url` without its password, for messages and MLflow."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}" if ":" in credentials else url


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_dead_local_trials(study, on_lost: Callable) -> list[int]:
    """Fail RUNNING trials whose worker ran on this host and is gone; return their numbers."""
    from optuna.trial import TrialState

    host = socket.gethostname()
    lost = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker_host, _, pid = str(trial.user_attrs.get(WORKER_ATTR, "")).rpartition(":")
        if worker_host != host or not pid.isdigit():
            continue
        if int(pid) != os.getpid() and _process_alive(int(pid)):  # this process, starting a study, runs none
            continue
        try:
            study._storage.set_trial_user_attr(trial._trial_id, LOST_ATTR, f"worker {worker_host}:{pid} died")
            study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        except Exception:  # noqa: BLE001  (another process failed it first)
            continue
        lost.append(trial.number)
        on_lost(study, study._storage.get_trial(trial._trial_id))
    return lost
