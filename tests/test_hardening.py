"""Bad inputs and faults a new user meets (issue 21): each is one line naming the problem and its
fix (exit 2 for a user error), leaves nothing half-written, and no MLflow run left RUNNING."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.cli import main
from tests.conftest import mlflow_runs, run_cli


def nnlab(capsys, *args: str) -> tuple[int, str, str]:
    """Run `nnlab ARGS` in this process; return (exit code, stdout, stderr). A usage error
    (argparse) exits through SystemExit: its code is returned the same way."""
    try:
        code = main(list(args))
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


TINY = ("train", "--arch", "mlp", "--data", "digits", "--epochs", "1", "--quiet")


# --- the store lock lives beside the store --------------------------------------------------
@pytest.mark.parametrize("command", [TINY, ("activations", "--activations", "relu", "--out", "out")],
                         ids=["train", "activations"])
def test_a_sqlite_store_in_another_folder_works_from_a_folder_without_mlruns(lab_dir, monkeypatch, capsys,
                                                                             command):
    store = lab_dir / "elsewhere"
    store.mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
    workdir = lab_dir / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    code, _, err = nnlab(capsys, *command)
    assert code == 0, err
    assert (store / ".store.lock").exists() and (store / "artifacts").is_dir()
    assert not (workdir / "mlruns").exists()  # lock, artifacts and checkpoints beside the store
    [run] = mlflow_runs()
    assert run.info.status == "FINISHED"


def test_a_sqlite_store_in_a_missing_folder_is_one_line(lab_dir, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{lab_dir / 'missing' / 'mlflow.db'}")
    code, _, err = nnlab(capsys, *TINY)
    assert code == 2
    assert "missing/, which does not exist" in one_error_line(err)


# --- values out of range, before anything is allocated or trained ----------------------------
def test_an_image_size_beyond_this_machines_memory_is_refused_naming_the_limit(capsys):
    code, _, err = nnlab(capsys, "train", "--arch", "mlp", "--data", "digits", "--image-size", "100000")
    assert code == 2
    line = one_error_line(err)
    assert "--image-size 100000 needs" in line and "the limit here is --image-size" in line
    assert not mlflow_runs()


@pytest.mark.parametrize("value", ["-1", str(2**32), "1.5", "x"])
def test_a_seed_outside_numpys_range_is_one_line(capsys, value):
    code, _, err = nnlab(capsys, "train", "--arch", "mlp", "--data", "digits", "--seed", value)
    assert code == 2
    line = one_error_line(err)
    assert "--seed" in line and ("[0, 4294967295]" in line or "expected an integer" in line)


def test_a_seed_out_of_range_from_params_yaml_is_refused_by_the_plan():
    from experiments.config import TrainConfig
    from modules.errors import UserError

    with pytest.raises(UserError, match=r"split seed must be an integer in \[0, 4294967295\], got -3"):
        TrainConfig(arch="mlp", data="digits", split_seed=-3).validate()


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "0"])
def test_a_non_finite_or_non_positive_lr_is_refused_at_parse_time(capsys, value):
    code, _, err = nnlab(capsys, "train", "--arch", "mlp", "--data", "digits", "--lr", value)
    assert code == 2
    assert "--lr" in one_error_line(err)


# --- a diverged run stops, ends FAILED, keeps its last good checkpoint -------------------------
def poison_weights_at(framework: str, epoch: int):
    """A framework callback that sets every weight to NaN as epoch `epoch` (0-based) starts."""
    from modules import backend

    if framework == "torch":
        from experiments.runners.torch_runner import Callback

        class Poison(Callback):
            def on_train_epoch_start(self, loop, task):
                if loop.current_epoch == epoch:
                    with backend.torch().no_grad():
                        for p in task.parameters():
                            p.fill_(float("nan"))

        return Poison()
    keras = backend.keras()

    class PoisonKeras(keras.callbacks.Callback):
        def on_epoch_begin(self, current, logs=None):
            if current == epoch:
                for variable in self.model.trainable_variables:
                    variable.assign(keras.ops.full(variable.shape, float("nan"), variable.dtype))

    return PoisonKeras()


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_a_run_diverging_at_epoch_2_stops_there_failed_keeping_epoch_1s_checkpoint(framework):
    from experiments import resume
    from experiments.config import TrainConfig
    from experiments.runners import TrainingDiverged
    from experiments.train import train

    config = TrainConfig(framework=framework, arch="mlp", data="digits", epochs=4, quiet=True).validate()
    with pytest.raises(TrainingDiverged, match=r"^training diverged at epoch 2: loss nan; lower --lr$"):
        train(config, progress=lambda *a: None, callbacks=[poison_weights_at(framework, 1)])
    [run] = mlflow_runs()
    assert run.info.status == "FAILED"
    assert run.data.tags["error"].startswith("TrainingDiverged: training diverged at epoch 2")
    assert run.data.metrics["val/acc"] > 0 and "test/acc" not in run.data.metrics  # epoch 1 only
    folder = resume.checkpoint_dir(run.info.run_id)
    assert any(folder.iterdir()), "the last good epoch's checkpoint is kept"
    if framework == "keras":
        import json

        assert json.loads((folder / "state.json").read_text())["next_epoch"] == 1


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])  # adam: a finite loss of 1e28, sgd: nan
def test_lr_1e6_diverges_one_line_exit_2_and_the_run_failed(capsys, optimizer):
    code, _, err = nnlab(capsys, "train", "--arch", "mlp", "--data", "digits", "--epochs", "2",
                         "--optimizer", optimizer, "--lr", "1e6", "--quiet")
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("nnlab: error: training diverged at epoch 1: loss ") and line.endswith("lower --lr")
    [run] = mlflow_runs()
    assert run.info.status == "FAILED"


def test_numpy_runs_diverge_with_the_same_line(capsys):
    code, _, err = nnlab(capsys, "train", "--framework", "numpy", "--arch", "mlp", "--data", "digits",
                         "--epochs", "2", "--lr", "1e6", "--quiet")
    assert code == 2
    assert "training diverged at epoch 1: loss " in one_error_line(err)


# --- a truncated prepared file ---------------------------------------------------------------
def test_a_truncated_prepared_file_names_the_file_and_the_fix(lab_dir, monkeypatch, capsys):
    monkeypatch.setenv("NNLAB_DATA_DIR", str(lab_dir / "data"))  # not the session's shared copy
    assert nnlab(capsys, "prepare", "--data", "digits")[0] == 0
    prepared = lab_dir / "data" / "prepared" / "digits.npz"
    prepared.write_bytes(prepared.read_bytes()[: prepared.stat().st_size // 2])
    code, _, err = nnlab(capsys, *TINY)
    assert code == 2
    line = one_error_line(err)
    assert "digits.npz: corrupt prepared file" in line and "--force" in line and "dvc repro" in line
    assert all(r.info.status == "FAILED" for r in mlflow_runs())


# --- a full disk ------------------------------------------------------------------------------
def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "mlruns/checkpoints/x/.last.ckpt.tmp")


def test_a_full_disk_while_preparing_data_is_one_line_and_leaves_no_temporary(lab_dir, monkeypatch, capsys):
    import datamodules.core

    monkeypatch.setenv("NNLAB_DATA_DIR", str(lab_dir / "data"))

    def full(file, *args, **kwargs):
        Path(file).write_bytes(b"PK half")  # what a full disk leaves
        enospc()

    monkeypatch.setattr(datamodules.core.np, "savez", full)
    code, _, err = nnlab(capsys, "prepare", "--data", "digits")
    assert code == 2
    assert "digits.npz: No space left on device; free space in" in one_error_line(err)
    assert not any((lab_dir / "data" / "prepared").iterdir())


@pytest.mark.parametrize("write_point", ["checkpoint", "metrics", "artifact"])
def test_a_full_disk_is_one_line_naming_the_folder_the_run_failed_and_resumable(monkeypatch, capsys,
                                                                                write_point):
    from experiments import tracking
    from experiments.runners import torch_runner

    target = {"checkpoint": (torch_runner.EpochCheckpoint, "_save"),
              "metrics": (tracking.TrackedRun, "flush"),
              "artifact": (tracking.TrackedRun, "log_artifact")}[write_point]
    calls = {"n": 0}
    original = getattr(*target)

    def full_after_the_first_epoch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1 or write_point == "artifact":
            enospc()
        return original(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(*target, full_after_the_first_epoch)
        patch.setattr(torch_runner.Pacer, "due", lambda self: True)  # a checkpoint every epoch
        code, _, err = nnlab(capsys, "train", "--arch", "mlp", "--data", "digits", "--epochs", "3", "--quiet")
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("nnlab: error: no space left on the disk of ")
    [run] = mlflow_runs()
    run_id = run.info.run_id
    assert "mlruns" in line and f"resume with nnlab train --resume {run_id}" in line
    assert run.info.status == "FAILED"
    code, _, err = nnlab(capsys, "train", "--resume", run_id, "--quiet")  # space is free again
    assert code == 0, err
    [run] = mlflow_runs()
    assert run.info.status == "FINISHED" and run.data.metrics["test/acc"] > 0
    assert "error" not in run.data.tags  # the reason it stopped went with the resume


def test_when_the_store_refuses_the_end_status_too_the_run_is_reaped_by_the_next_command(monkeypatch, capsys):
    import mlflow

    from experiments import tracking

    def full(self, run_id, status=None, end_time=None):
        raise mlflow.exceptions.MlflowException("(sqlite3.OperationalError) database or disk is full")

    with monkeypatch.context() as patch:
        patch.setattr(tracking.TrackedRun, "flush", lambda self: enospc())
        patch.setattr(mlflow.MlflowClient, "set_terminated", full)
        code, _, err = nnlab(capsys, *TINY)
    assert code == 2
    assert "no space left on the disk of" in err and "could not be marked FAILED" in err
    assert "Traceback" not in err
    [run] = mlflow_runs()
    assert run.info.status == "RUNNING"
    # this process still owns it; once its owner's heartbeat is stale, a later command reaps it
    tracking.client().set_tag(run.info.run_id, tracking.HEARTBEAT, "0")
    marked = tracking.mark_ghost_runs(tracking.client(), say=lambda line: None)
    assert marked == [run.info.run_id] and mlflow_runs()[0].info.status == "KILLED"


@pytest.fixture
def small_tmpfs(lab_dir):
    """`lab_dir/mlruns` on a 16 MiB tmpfs (root only; skipped where mounting is not allowed)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder = lab_dir / "mlruns"
    folder.mkdir(exist_ok=True)  # mounted over: the store is made anew on the tmpfs
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.integration
@pytest.mark.parametrize("tracking_process", [False, True], ids=["in-process", "tracking-process"])
def test_a_real_full_disk_mid_run_is_one_line_and_the_run_resumes_once_space_is_free(small_tmpfs, capsys,
                                                                                    monkeypatch, tracking_process):
    """The store on a 16 MiB tmpfs; after the first epoch a ballast file fills it. The run is
    tracked in this process, or by a tracking process as `nnlab train` does."""
    from experiments import tracking

    monkeypatch.setattr(tracking, "mlflow_loaded", lambda: not tracking_process)
    from experiments.runners import torch_runner

    ballast = small_tmpfs / "ballast"

    class FillTheDisk(torch_runner.Callback):
        def on_train_epoch_end(self, loop, task):
            if loop.current_epoch == 0:
                with open(ballast, "wb") as f, pytest.raises(OSError):
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()

    from experiments import resume
    from experiments.config import TrainConfig
    from experiments.train import train
    from modules.errors import UserError

    config = TrainConfig(framework="torch", arch="mlp", data="digits", epochs=3, quiet=True).validate()
    with pytest.raises(UserError, match=r"^no space left on the disk of .*mlruns") as full:
        train(config, progress=lambda *a: None, callbacks=[FillTheDisk()], own_process=tracking_process)
    assert "\n" not in str(full.value)
    ballast.unlink()  # space is free again: the store is readable and the run resumes
    [run] = mlflow_runs()
    assert run.info.status in ("FAILED", "RUNNING")
    code, _, err = nnlab(capsys, "train", "--resume", run.info.run_id, "--quiet")
    assert code == 0, err
    [run] = mlflow_runs()
    assert run.info.status == "FINISHED"
    assert not resume.checkpoint_dir(run.info.run_id).exists()


@pytest.mark.integration
def test_a_torch_checkpoint_on_a_full_disk_is_enospc_naming_the_file_the_last_one_intact(small_tmpfs):
    from types import SimpleNamespace

    from lightning.fabric import Fabric

    from experiments import tracking
    from experiments.runners import torch_runner
    from modules import backend

    torch = backend.torch()
    state = {"weights": torch.zeros(500_000)}  # 2 MB
    loop = SimpleNamespace(fabric=Fabric(accelerator="cpu", devices=1), current_epoch=0, is_global_zero=True,
                           stateful=lambda: state)
    checkpoint = torch_runner.EpochCheckpoint(small_tmpfs / "checkpoints" / "run", SimpleNamespace(history=[]))
    checkpoint._save(loop)
    saved = checkpoint.path.read_bytes()
    with open(small_tmpfs / "ballast", "wb") as f, pytest.raises(OSError):
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    loop.current_epoch = 1
    with pytest.raises(OSError) as full:
        checkpoint._save(loop)
    assert full.value.errno == errno.ENOSPC
    assert "checkpoints/run/ while writing run" in str(tracking.disk_full_error(full.value, "run"))
    assert checkpoint.path.read_bytes() == saved
    assert [p.name for p in checkpoint.path.parent.iterdir()] == ["last.ckpt"]  # no temporary left


# --- no ghost runs ----------------------------------------------------------------------------
def test_a_run_records_its_owner_and_a_heartbeat_while_it_is_open():
    import socket

    from experiments import tracking

    with tracking.tracked_run("e", "r", {}, {}) as run:
        tags = tracking.client().get_run(run.run_id).data.tags
        assert tags[tracking.OWNER_HOST] == socket.gethostname()
        assert tags[tracking.OWNER_PID] == str(os.getpid())
        assert abs(float(tags[tracking.HEARTBEAT]) - time.time()) < 60
    beat = tracking.Heartbeat(tracking.client(), run.run_id, interval_s=0.05).start()
    tracking.client().set_tag(run.run_id, tracking.HEARTBEAT, "0")
    deadline = time.monotonic() + 10
    while float(tracking.client().get_run(run.run_id).data.tags[tracking.HEARTBEAT]) == 0:
        assert time.monotonic() < deadline, "no heartbeat"
        time.sleep(0.05)
    beat.stop()
    assert not beat.thread.is_alive()


def test_runs_whose_owner_is_gone_are_marked_killed_and_live_ones_are_left():
    import socket

    from experiments import tracking

    client = tracking.client()
    exp = tracking.experiment_id(client, "ghosts")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    now = f"{time.time():.0f}"
    owners = {"dead-pid": (socket.gethostname(), dead, now),
              "stale-elsewhere": ("another-host", "1", "0"),
              "alive": (socket.gethostname(), str(os.getpid()), now),
              "fresh-elsewhere": ("another-host", "1", now)}
    ids = {}
    for name, (host, pid, beat) in owners.items():
        tags = {tracking.OWNER_HOST: host, tracking.OWNER_PID: pid, tracking.HEARTBEAT: beat}
        ids[name] = client.create_run(exp, tags=tags, run_name=name).info.run_id
    client.log_batch(ids["dead-pid"], params=[__import__("mlflow").entities.Param(k, "x") for k in
                                              ("framework", "arch", "data", "epochs")])
    lines = []
    marked = tracking.mark_ghost_runs(client, say=lines.append)
    assert sorted(marked) == sorted([ids["dead-pid"], ids["stale-elsewhere"]])
    status = {name: client.get_run(i).info.status for name, i in ids.items()}
    assert status == {"dead-pid": "KILLED", "stale-elsewhere": "KILLED", "alive": "RUNNING",
                      "fresh-elsewhere": "RUNNING"}
    [dead_line] = [line for line in lines if ids["dead-pid"] in line]
    assert dead_line.endswith(f"marked KILLED; resume with nnlab train --resume {ids['dead-pid']}")
    assert f"pid {dead} on {socket.gethostname()} is gone" in dead_line


@pytest.mark.integration
def test_kill_9_of_training_leaves_a_run_the_next_command_marks_killed_and_resumes(lab_dir):
    import psutil

    from tests.test_resume import start_training

    process, folder = start_training(lab_dir, epochs=4)
    # SIGKILL to the command and its tracking process, as the OOM killer or a lost machine would:
    # nothing can end the run (the command alone: tests/test_tracking_process.py)
    for child in psutil.Process(process.pid).children(recursive=True):
        child.kill()
    process.kill()
    process.communicate(timeout=60)
    run_id = folder.name
    [run] = mlflow_runs()
    assert run.info.run_id == run_id and run.info.status == "RUNNING"
    result = run_cli("train", "--resume", run_id, "--quiet", cwd=lab_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"marked KILLED; resume with nnlab train --resume {run_id}" in result.stderr
    [run] = mlflow_runs()
    assert run.info.status == "FINISHED" and "error" not in run.data.tags



def test_a_study_run_has_an_owner_and_a_killed_studys_run_is_marked_with_how_to_resume(capsys):
    from experiments import tracking
    from experiments.tune import tracking as tune_tracking

    run_id = tune_tracking.create_study_run("studies", "s", {"study": "s"}, {})
    client = tracking.client()
    assert client.get_run(run_id).data.tags[tracking.OWNER_PID] == str(os.getpid())
    client.set_tag(run_id, tracking.HEARTBEAT, "0")  # as if its process had stopped long ago
    lines = []
    assert tracking.mark_ghost_runs(client, say=lines.append) == [run_id]
    assert lines[0].endswith("marked KILLED; resume with the same nnlab tune --study s command")


def test_diverging_keras_trials_fail_with_the_shared_reason_and_the_study_goes_on():
    from experiments.tune.best import load_study
    from experiments.tune.options import TuneOptions
    from experiments.tune.space import SearchSpace
    from experiments.tune.study import run_study
    from modules.registry import Param

    space = SearchSpace.build("digits", archs=["mlp"], frameworks=["keras"], epochs=(2, 2))
    space.shared = {"lr": Param("float", 1e12, 1e13, log=True), "batch_size": Param("categorical", choices=(128,)),
                    "optimizer": Param("categorical", choices=("sgd",))}
    options = TuneOptions(study="nan-keras", data="digits", trials=2, pruner="none", quiet=True)
    run_study(options, space, say=lambda *a: None)
    trials = load_study("nan-keras", None).trials
    assert [t.state.name for t in trials] == ["FAIL", "FAIL"]  # both ran: the first did not stop the study
    assert all(t.user_attrs["fail_reason"].startswith("TrainingDiverged: training diverged at epoch 1: loss ")
               for t in trials)
    trial_runs = [r for r in mlflow_runs() if r.data.tags.get("optuna.trial")]
    assert sorted(r.info.status for r in trial_runs) == ["FAILED", "FAILED"]


@pytest.mark.integration
def test_a_full_disk_mid_study_is_one_line_the_study_readable_with_its_finished_trials(small_tmpfs, monkeypatch,
                                                                                      capsys):
    """The study (SQLite `mlruns/optuna.db`) and the MLflow store on a 16 MiB tmpfs; trial 1 fills
    it after its first epoch. The study stops with one line; once space is free it is readable,
    trial 0 kept, and the same command finishes it."""
    from experiments.runners import torch_runner
    from experiments.tune import callbacks
    from experiments.tune.best import load_study

    ballast = small_tmpfs / "ballast"

    class FillTheDisk(torch_runner.Callback):
        def on_train_epoch_end(self, loop, task):
            with open(ballast, "wb") as f, pytest.raises(OSError):
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()

    original = callbacks.trial_callbacks

    def fill_in_trial_1(framework, trial, *args, **kwargs):
        found = original(framework, trial, *args, **kwargs)
        return [*found, FillTheDisk()] if trial.number == 1 else found

    tune = ("tune", "--study", "full", "--data", "digits", "--archs", "mlp", "--frameworks", "torch",
            "--epochs", "2", "--trials", "3", "--pruner", "none", "--quiet")
    with monkeypatch.context() as patch:
        patch.setattr(callbacks, "trial_callbacks", fill_in_trial_1)
        code, _, err = nnlab(capsys, *tune)
    assert code == 2
    *notes, line = [text for text in err.splitlines() if text.strip()]
    assert "Traceback" not in err  # and at most the trial run's note that it stays RUNNING till reaped
    assert all(note.startswith("nnlab: the MLflow store is full too: run ") for note in notes) and len(notes) <= 1
    assert line.startswith("nnlab: error: no space left on the disk of ") and "mlruns" in line
    assert line.endswith("run the same nnlab tune --study full command: the study's finished trials are kept")
    ballast.unlink()  # space is free again
    trials = load_study("full", None).trials
    assert trials[0].state.name == "COMPLETE" and len(trials) == 2
    code, _, err = nnlab(capsys, *tune)  # the same command resumes the study
    assert code == 0, err
    states = [t.state.name for t in load_study("full", None).trials]
    assert states.count("COMPLETE") == 3 and states[1] == "FAIL"  # trial 1 was failed and run again
    assert not [r for r in mlflow_runs() if r.info.status == "RUNNING"]
