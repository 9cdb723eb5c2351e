"""A new run's MLflow in a second process (`experiments.tracking_process`): the same run as one
tracked in-process, and the same end (FINISHED, FAILED, KILLED) whatever stops the command."""
from __future__ import annotations

import errno
import os
import time

import pytest

from experiments import tracking, tracking_process
from modules.errors import UserError
from tests.conftest import mlflow_runs

PARAMS = {"framework": "torch", "arch": "mlp", "data": "digits", "epochs": 3}


def run_of(run_id: str):
    return tracking.client().get_run(run_id)


def test_a_remote_run_logs_params_tags_metrics_and_files_and_ends_finished(tmp_path):
    (tmp_path / "notes.txt").write_text("kept")
    with tracking_process.remote_run("remote", "train:torch-mlp", PARAMS, {"nnlab.source": "command"}) as run:
        run.set_tags({"dataset.digest": "abc"})
        for epoch in range(1, 4):
            run.log_metrics({"train/loss": 1.0 / epoch}, step=epoch)
        run.log_artifact(tmp_path / "notes.txt", "notes")
    logged = run_of(run.run_id)
    assert logged.info.status == "FINISHED"
    assert logged.data.params == {k: str(v) for k, v in PARAMS.items()}
    assert logged.data.tags["dataset.digest"] == "abc"
    assert logged.data.tags["nnlab.owner.pid"] == str(os.getpid())  # the command owns it, not the helper
    history = tracking.client().get_metric_history(run.run_id, "train/loss")
    assert [(m.step, round(m.value, 4)) for m in history] == [(1, 1.0), (2, 0.5), (3, 0.3333)]
    assert [a.path for a in tracking.client().list_artifacts(run.run_id, "notes")] == ["notes/notes.txt"]
    assert run.process.process.poll() == 0  # the tracking process has ended with the run


def test_a_remote_run_stopped_by_an_error_ends_failed_with_the_error_as_its_tag():
    with pytest.raises(ValueError, match="bad batch"):
        with tracking_process.remote_run("remote", "train:torch-mlp", PARAMS, {}) as run:
            run.log_metrics({"train/loss": 2.0}, step=1)
            raise ValueError("bad batch")
    logged = run_of(run.run_id)
    assert logged.info.status == "FAILED"
    assert logged.data.tags["error"] == "ValueError: bad batch"
    assert logged.data.metrics == {"train/loss": 2.0}  # what was measured is kept


def test_a_remote_run_stopped_by_ctrl_c_ends_killed():
    with pytest.raises(KeyboardInterrupt):
        with tracking_process.remote_run("remote", "train:torch-mlp", PARAMS, {}) as run:
            assert run.run_id
            raise KeyboardInterrupt
    assert run_of(run.run_id).info.status == "KILLED"
    assert "error" not in run_of(run.run_id).data.tags


def test_the_tracking_process_refusal_is_the_commands_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/missing/mlflow.db")
    with pytest.raises(UserError, match=r"names a SQLite file in .*missing/, which does not exist"):
        with tracking_process.remote_run("remote", "train:torch-mlp", PARAMS, {}) as run:
            assert run.run_id  # raises: the tracking process could not open the store


def test_a_full_disk_in_the_tracking_process_reads_as_in_process():
    err = OSError(errno.ENOSPC, "No space left on device", "/data/mlruns/artifacts/x/model.pt")
    again = tracking_process._raise_again(*tracking_process._report(err))
    assert str(tracking.disk_full_error(again, "r1", resumable=True)) == \
        str(tracking.disk_full_error(err, "r1", resumable=True)) == \
        ("no space left on the disk of /data/mlruns/artifacts/x/ while writing run r1; "
         "free space there, then resume with nnlab train --resume r1")
    sqlite = RuntimeError("(sqlite3.OperationalError) database or disk is full")
    assert str(tracking.disk_full_error(tracking_process._raise_again(*tracking_process._report(sqlite)))) == \
        str(tracking.disk_full_error(sqlite))
    assert isinstance(tracking_process._raise_again(*tracking_process._report(UserError("x"))), UserError)


@pytest.mark.integration
def test_a_train_command_killed_hard_has_its_run_marked_killed_by_the_tracking_process(lab_dir):
    from tests.test_resume import start_training

    command, folder = start_training(lab_dir, epochs=1000)
    command.kill()  # SIGKILL: no handler runs; the tracking process sees the pipe close
    command.communicate(timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and mlflow_runs("digits")[0].info.status == "RUNNING":
        time.sleep(0.2)
    [run] = mlflow_runs("digits")
    assert run.info.run_id == folder.name and run.info.status == "KILLED"
    assert run.data.tags["error"] == f"owner lost: pid {command.pid} ended without ending the run"
