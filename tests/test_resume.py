"""Interrupted runs keep their last epoch's checkpoint and resume in the same MLflow run,
ending exactly where an uninterrupted run with the same seed ends."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

EPOCHS = 3


def tiny_config(framework: str):
    from experiments.config import TrainConfig

    return TrainConfig(framework=framework, arch="mlp", data="digits", epochs=EPOCHS, quiet=True).validate()


def stop_after_epoch(framework: str, last: int = 0):
    """A framework callback that presses Ctrl-C once epoch `last` (and its checkpoint) is done."""
    from modules import backend

    if framework == "torch":
        from experiments.runners.torch_runner import Callback

        class Stop(Callback):
            def on_train_epoch_end(self, loop, task):
                if loop.current_epoch == last:
                    raise KeyboardInterrupt

        return Stop()
    keras = backend.keras()

    class StopKeras(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == last:
                raise KeyboardInterrupt

    return StopKeras()


def metric_steps(run_id: str, key: str) -> list[tuple[int, float]]:
    from experiments import tracking

    return sorted((m.step, m.value) for m in tracking.client().get_metric_history(run_id, key))


def interrupt_and_resume(framework: str) -> tuple[dict, dict, str]:
    """(uninterrupted summary, resumed summary, resumed run id)."""
    from experiments import resume, tracking
    from experiments.train import train

    quiet = lambda *a: None  # noqa: E731
    config = tiny_config(framework)
    whole = train(config, progress=quiet)
    with pytest.raises(resume.TrainingInterrupted) as stopped:
        train(config, progress=quiet, callbacks=[stop_after_epoch(framework)])
    run_id = stopped.value.run_id
    assert tracking.client().get_run(run_id).info.status == "KILLED"
    assert any(resume.checkpoint_dir(run_id).iterdir()), "the finished epoch's checkpoint is kept"
    assert [s for s, _ in metric_steps(run_id, "val/acc")] == [1]
    resumed = train(resume.plan_for_resume(run_id, quiet=True), progress=quiet, resume_run_id=run_id)
    assert resumed["run_id"] == run_id
    assert tracking.client().get_run(run_id).info.status == "FINISHED"
    assert [s for s, _ in metric_steps(run_id, "val/acc")] == list(range(1, EPOCHS + 1))
    resumed_curve = [v for _, v in metric_steps(run_id, "val/acc")]
    assert resumed_curve == pytest.approx([v for _, v in metric_steps(whole["run_id"], "val/acc")], abs=1e-6)
    assert not resume.checkpoint_dir(run_id).exists(), "a finished run's checkpoint is removed"
    return whole, resumed, run_id


def test_torch_run_interrupted_after_an_epoch_resumes_to_the_same_final_metrics():
    whole, resumed, _ = interrupt_and_resume("torch")
    for key in ("test/acc", "test/loss"):
        assert resumed[key] == pytest.approx(whole[key], abs=1e-6)
    assert resumed["epochs"] == EPOCHS


@pytest.mark.slow
def test_keras_run_interrupted_after_an_epoch_resumes_to_the_same_final_metrics():
    # weights, Adam's moments and the dropout seed-generator states are restored, and the
    # tf.data pipeline starts at the resumed epoch's order: measured difference 0.0 on CPU
    whole, resumed, _ = interrupt_and_resume("keras")
    for key in ("test/acc", "test/loss"):
        assert resumed[key] == pytest.approx(whole[key], abs=1e-6)


def test_checkpoints_are_paced_to_a_share_of_the_time_the_first_always_written():
    from experiments.pacing import Pacer

    now = [0.0]
    pacer = Pacer(share=0.02, clock=lambda: now[0])
    assert pacer.due()

    def save():  # a checkpoint that takes 0.1 s
        now[0] += 0.1
    pacer.run(save)
    now[0] += 4.9
    assert not pacer.due(), "4.9 s after a 0.1 s save: 2% not yet reached"
    now[0] += 0.1
    assert pacer.due()


def test_a_resume_from_an_older_checkpoint_logs_every_epoch_once(monkeypatch):
    # the pacer wrote a checkpoint after epoch 0 only; the run logged epochs 0 and 1 and was
    # stopped; the resumed run recomputes epoch 1 and logs it no second time
    from experiments import pacing, resume
    from experiments.train import train

    monkeypatch.setattr(pacing, "DEFAULT_SHARE", 1e-9)
    quiet = lambda *a: None  # noqa: E731
    config = tiny_config("torch")
    whole = train(config, progress=quiet)
    with pytest.raises(resume.TrainingInterrupted) as stopped:
        train(config, progress=quiet, callbacks=[stop_after_epoch("torch", last=1)])
    run_id = stopped.value.run_id
    assert [s for s, _ in metric_steps(run_id, "val/acc")] == [1, 2]
    resumed = train(resume.plan_for_resume(run_id, quiet=True), progress=quiet, resume_run_id=run_id)
    assert [s for s, _ in metric_steps(run_id, "val/acc")] == list(range(1, EPOCHS + 1))
    assert [v for _, v in metric_steps(run_id, "val/acc")] == pytest.approx(
        [v for _, v in metric_steps(whole["run_id"], "val/acc")], abs=1e-6)
    assert resumed["test/acc"] == pytest.approx(whole["test/acc"], abs=1e-6)


def test_resume_of_an_unknown_run_is_one_line_and_exit_2():
    result = run_cli("train", "--resume", "0123456789abcdef")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no MLflow run '0123456789abcdef'" in result.stderr


def test_resume_of_a_finished_run_is_refused():
    from experiments import resume
    from experiments.train import train
    from modules.errors import UserError

    config = tiny_config("torch")
    config.epochs = 1
    summary = train(config, progress=lambda *a: None)
    with pytest.raises(UserError, match="already FINISHED"):
        resume.plan_for_resume(summary["run_id"])


def start_training(lab: Path, epochs: int = 40) -> tuple[subprocess.Popen, Path]:
    """`nnlab train` in a subprocess; returns it once its first checkpoint exists."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "experiments", "train", "--arch", "mlp", "--data",
                                "digits", "--epochs", str(epochs), "--quiet"], cwd=lab, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = list((lab / "mlruns" / "checkpoints").glob("*/last.ckpt"))
        if found:
            return process, found[0].parent
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    process.kill()
    raise AssertionError("no checkpoint within 300 s")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_training_keeps_the_checkpoint_ends_killed_and_says_how_to_resume(lab_dir, sig):
    from tests.conftest import mlflow_runs

    process, folder = start_training(lab_dir)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    run_id = folder.name
    assert process.returncode == 130, stderr
    assert f"nnlab train --resume {run_id}" in stderr
    assert (folder / "last.ckpt").exists()
    [run] = mlflow_runs()
    assert run.info.run_id == run_id and run.info.status == "KILLED"


@pytest.mark.slow
def test_kill_9_mid_training_loses_only_work_since_the_last_checkpoint_and_resumes(lab_dir):
    from experiments import resume, tracking
    from experiments.train import train

    process, folder = start_training(lab_dir, epochs=6)
    process.kill()
    process.communicate(timeout=60)
    run_id = folder.name
    # the command could not end it: its tracking process (or else the next command) marks it KILLED
    assert tracking.client().get_run(run_id).info.status == "KILLED"
    logged = metric_steps(run_id, "val/acc")
    summary = train(resume.plan_for_resume(run_id, quiet=True), progress=lambda *a: None,
                    resume_run_id=run_id)
    assert summary["epochs"] == 6
    assert [s for s, _ in metric_steps(run_id, "val/acc")] == list(range(1, 7))  # epochs counted from 1
    assert len(logged) >= 1
    assert tracking.client().get_run(run_id).info.status == "FINISHED"


# --- Lightning DDP (2 processes, gloo on CPU) -------------------------------------------------

def test_more_devices_than_the_machine_has_is_one_line_and_exit_2():
    result = run_cli("train", "--arch", "mlp", "--data", "digits", "--devices", "4096", "--strategy", "ddp")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--devices 4096 but this machine has" in result.stderr


def test_ddp_ranks_split_each_global_batch_between_them():
    from datamodules.torch_batches import EpochBatchSampler

    whole = list(EpochBatchSampler(100, 8, seed=0, shuffle=True))
    shares = [list(EpochBatchSampler(100, 4, seed=0, shuffle=True, rank=r, world_size=2)) for r in (0, 1)]
    assert [sorted(a + b) for a, b in zip(*shares)] == [sorted(batch) for batch in whole]


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_logs_one_run_and_matches_one_process(lab_dir):
    from tests.conftest import mlflow_runs

    common = ("train", "--arch", "mlp", "--data", "digits", "--epochs", "3", "--quiet")
    two = run_cli(*common, "--devices", "2", "--strategy", "ddp", "--metrics-out", "two.json")
    assert two.returncode == 0, two.stderr[-2000:]
    runs = mlflow_runs()
    assert len(runs) == 1, "only rank zero logs"
    one = run_cli(*common, "--metrics-out", "one.json")
    assert one.returncode == 0, one.stderr[-2000:]
    import json

    acc_two = json.loads(Path("two.json").read_text())["test/acc"]
    acc_one = json.loads(Path("one.json").read_text())["test/acc"]
    assert abs(acc_two - acc_one) <= 0.02
    [ddp_run] = [r for r in mlflow_runs() if r.data.params.get("devices") == "2"]
    assert ddp_run.info.status == "FINISHED"
    assert [m.step for m in _history(ddp_run.info.run_id, "val/acc")] == [1, 2, 3]


def _history(run_id: str, key: str):
    from experiments import tracking

    return sorted(tracking.client().get_metric_history(run_id, key), key=lambda m: m.step)
