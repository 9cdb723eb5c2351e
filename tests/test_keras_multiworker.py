"""Keras across hosts: MultiWorkerMirroredStrategy with Keras 3 `fit` on TensorFlow fails
(keras-team/keras#20585: "Attempt to convert a value (PerReplica:{...})"); the lab's runner
patches the two defects behind it (`experiments.runners.keras_multiworker`).

The upstream test runs two bare workers on loopback, unpatched, and expects `fit` to work: a
strict expected failure outside the default run (`pytest -m upstream`), so it turns red the day
the bug is fixed and the override can go. The same script with the override applied is the
test of the working path, and `nnlab train --workers` trains one model on two workers.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from conftest import ROOT

WORKER = '''
import json, os, sys
ports, index = sys.argv[1].split(","), int(sys.argv[2])
os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                      "task": {"type": "worker", "index": index}})
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()  # before anything else touches TF
import keras
if sys.argv[3] == "patched":
    from modules import backend
    backend.keras_alone()  # TensorFlow is loaded: no torch side after it
    from experiments.runners.keras_multiworker import patch_keras
    assert patch_keras()
import numpy as np
with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
rng = np.random.default_rng(0)
x, y = rng.random((64, 4), dtype=np.float32), rng.integers(0, 3, 64)
try:
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=1, verbose=0)
    print("FIT OK")
except ValueError as err:
    print("FIT FAILED", str(err).splitlines()[0][:200])
'''


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class KerasIssue20585(Exception):
    """The known upstream failure; any other failure of the test is a real one."""


def bare_fit_on_two_workers(tmp_path, mode: str) -> list[str]:
    """Run WORKER twice on loopback ("patched" or "unpatched"); each worker's output."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    ports = ",".join(map(str, free_ports(2)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    workers = [subprocess.Popen([sys.executable, str(script), ports, str(i), mode], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env) for i in (0, 1)]
    return [out + err[-1500:] for out, err in (w.communicate(timeout=300) for w in workers)]


@pytest.mark.upstream
@pytest.mark.xfail(strict=True, raises=KerasIssue20585,
                   reason="keras-team/keras#20585: fit under MultiWorkerMirroredStrategy raises "
                   "'Attempt to convert a value (PerReplica...)'")
def test_keras3_fit_trains_under_multi_worker_mirrored_strategy(tmp_path):
    for out in bare_fit_on_two_workers(tmp_path, "unpatched"):  # both reach fit: the cluster formed
        if "FIT FAILED Attempt to convert a value (PerReplica" in out:
            raise KerasIssue20585(out)
        assert "FIT OK" in out, out


@pytest.mark.integration
def test_the_lab_override_makes_keras3_fit_train_under_multi_worker_mirrored_strategy(tmp_path):
    for out in bare_fit_on_two_workers(tmp_path, "patched"):
        assert "FIT OK" in out, out


def test_keras_distribute_trains_under_mirrored_strategy_like_one_device():
    from experiments.config import TrainConfig
    from experiments.train import train
    from tests.conftest import mlflow_runs

    def run(distribute: bool) -> dict:
        config = TrainConfig(framework="keras", arch="mlp", data="digits", epochs=2, quiet=True,
                             distribute=distribute).validate()
        return train(config, progress=lambda *a: None)

    mirrored, plain = run(True), run(False)
    assert abs(mirrored["test/acc"] - plain["test/acc"]) <= 0.02
    logged = {r.info.run_id: r for r in mlflow_runs()}
    assert logged[mirrored["run_id"]].data.params["distribute"] == "True"
    assert "distribute" not in logged[plain["run_id"]].data.params


def test_distribute_with_torch_is_one_line_and_exit_2():
    from tests.conftest import run_cli

    result = run_cli("train", "--framework", "torch", "--arch", "mlp", "--data", "digits", "--distribute")
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "--distribute is for --framework keras" in result.stderr


def two_worker_commands(ports: list[int], epochs: int, *extra: str) -> list[list[str]]:
    workers = ",".join(f"127.0.0.1:{p}" for p in ports)
    return [[sys.executable, "-m", "experiments", "train", "--framework", "keras", "--arch", "mlp",
             "--data", "digits", "--epochs", str(epochs), "--quiet", "--workers", workers,
             "--worker-index", str(i), "--metrics-out", f"worker{i}.json", *extra] for i in range(len(ports))]


@pytest.mark.slow
def test_two_keras_workers_train_one_model_like_one_process_and_the_first_logs_the_run(lab_dir):
    from tests.conftest import mlflow_runs, run_cli

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ports = free_ports(2)
    workers = [subprocess.Popen(command, cwd=lab_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for command in two_worker_commands(ports, 3)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err[-2000:] for _, err in outputs]
    one = run_cli("train", "--framework", "keras", "--arch", "mlp", "--data", "digits", "--epochs", "3",
                  "--quiet", "--metrics-out", "one.json", cwd=lab_dir)
    assert one.returncode == 0, one.stderr[-2000:]
    two_workers = json.loads((lab_dir / "worker0.json").read_text())
    one_process = json.loads((lab_dir / "one.json").read_text())
    assert not (lab_dir / "worker1.json").exists()  # the second worker trains and logs nothing
    assert abs(two_workers["test/acc"] - one_process["test/acc"]) <= 0.03, (two_workers, one_process)
    runs = {r.info.run_id: r for r in mlflow_runs()}
    assert len(runs) == 2  # the workers' one run and the one-process run
    # the metrics file holds numbers; the run id is beside it (experiments/files.py)
    logged = runs[json.loads((lab_dir / "worker0.info.json").read_text())["run_id"]]
    assert logged.info.status == "FINISHED"
    assert logged.data.params["workers"] == f"127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"
    assert "worker_index" not in logged.data.params


def test_a_worker_whose_peers_never_come_up_is_one_line_after_the_timeout_and_its_run_failed(lab_dir):
    from tests.conftest import mlflow_runs

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    [command, _] = two_worker_commands(free_ports(2), 1, "--worker-timeout", "2")
    alone = subprocess.run(command, cwd=lab_dir, env=env, capture_output=True, text=True, timeout=300)
    assert alone.returncode == 2
    assert alone.stderr.strip().count("\n") == 0, alone.stderr
    assert "did not come up within 2 s" in alone.stderr
    [run] = mlflow_runs()
    assert run.info.status == "FAILED"


@pytest.mark.parametrize("args, message", [
    (("--workers", "127.0.0.1:1,nohost", "--worker-index", "0"), "'nohost' is not HOST:PORT"),
    (("--workers", "127.0.0.1:1,127.0.0.1:2", "--worker-index", "2"), "--worker-index 2 but --workers lists 2"),
    (("--workers", "127.0.0.1:1", "--worker-index", "0"), "--workers needs at least two HOST:PORT"),
    (("--worker-index", "1"), "--worker-index goes with --workers"),
])
def test_a_bad_worker_option_is_one_line_and_exit_2(args, message):
    from tests.conftest import run_cli

    result = run_cli("train", "--framework", "keras", "--arch", "mlp", "--data", "digits", *args)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, result.stderr
    assert message in result.stderr


def test_workers_with_torch_is_one_line_and_exit_2():
    from tests.conftest import run_cli

    result = run_cli("train", "--framework", "torch", "--arch", "mlp", "--data", "digits",
                     "--workers", "127.0.0.1:1,127.0.0.1:2")
    assert result.returncode == 2 and "--workers is for --framework keras" in result.stderr
