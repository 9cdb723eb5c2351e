"""Each run's MLflow Model: loads with pyfunc, predicts what `nnlab evaluate` scores, registers,
serves over REST; and MLflow's system metrics (`--system-metrics`)."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, mlflow_runs

from experiments.cli import main
from experiments.config import TrainConfig
from experiments.evaluate import evaluate_run
from experiments.train import make_datamodule, train


def quick(framework, **settings):
    settings = {"epochs": 1, **settings}
    return TrainConfig(framework=framework, arch="mlp", data="digits", batch_size=128,
                       hparams={"depth": 1}, quiet=True, **settings).validate()


def logged_model_uri(run_id: str) -> str:
    from experiments import tracking

    run = tracking.client().get_run(run_id)
    (output,) = run.outputs.model_outputs
    return f"models:/{output.model_id}"


def record_package_scans(monkeypatch) -> list:
    """Count MLflow's scans of every installed distribution (its requirements check)."""
    from mlflow.utils import requirements_utils

    scans = []
    monkeypatch.setattr(requirements_utils, "_MODULES_TO_PACKAGES", None)  # not cached from before
    monkeypatch.setattr(requirements_utils.importlib_metadata, "packages_distributions",
                        lambda: scans.append(1) or {})
    return scans


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_the_mlflow_model_predicts_what_nnlab_evaluate_scores(framework):
    import mlflow

    from experiments.tasks import scorer

    plan = quick(framework)
    with pytest.MonkeyPatch.context() as monkeypatch:
        scans = record_package_scans(monkeypatch)
        summary = train(plan, progress=lambda *a: None)
    assert scans == []  # the pins come from this environment: no scan of it (`mlflow_model.pins_trusted`)
    model = mlflow.pyfunc.load_model(logged_model_uri(summary["run_id"]))
    datamodule = make_datamodule(plan)
    x = datamodule.splits["test"].x
    outputs = model.predict(x)
    assert outputs.shape == (360, 10) and outputs.dtype == np.float32
    evaluated, logged = evaluate_run(summary["run_id"])
    scored = scorer("classify").evaluate(outputs, datamodule)
    assert scored["test/acc"] == evaluated["test/acc"] == pytest.approx(logged["test/acc"], abs=1e-9)
    assert scored["test/loss"] == pytest.approx(evaluated["test/loss"], rel=1e-6)
    signature = model.metadata.signature
    assert signature.inputs.to_dict() == [{"type": "tensor", "tensor-spec": {"dtype": "float32",
                                                                            "shape": (-1, 1, 8, 8)}}]
    assert signature.outputs.to_dict() == [{"type": "tensor", "tensor-spec": {"dtype": "float32",
                                                                             "shape": (-1, 10)}}]
    assert model.metadata.get_input_schema() is not None and model.metadata.saved_input_example_info
    requirements = Path(mlflow.pyfunc.get_model_dependencies(logged_model_uri(summary["run_id"])))
    assert f"mlflow=={mlflow.__version__}" in requirements.read_text().split()


def test_register_adds_a_version_with_its_alias_and_tags():
    from experiments import tracking

    summary = train(quick("torch"), progress=lambda *a: None, register="digits-mlp")
    assert (summary["registered_model"], summary["model_version"], summary["model_alias"]) == \
        ("digits-mlp", "1", "challenger")
    client = tracking.client()
    version = client.get_model_version_by_alias("digits-mlp", "challenger")
    assert str(version.version) == "1"
    assert {k: version.tags[k] for k in ("framework", "arch", "data", "run_id")} == \
        {"framework": "torch", "arch": "mlp", "data": "digits", "run_id": summary["run_id"]}
    assert version.tags["dataset.digest"] == summary["dataset_digest"] and version.tags["optuna.study"] == ""
    assert mlflow_runs("digits")[0].data.tags["registered_model"] == "digits-mlp/1@challenger"


@pytest.mark.parametrize("name", ["a/b", "x:y", "", ".lead", "a" * 129, "two words"])
def test_a_bad_registered_model_name_is_one_line_and_exit_2(capsys, name):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--arch", "mlp", "--register", name])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "bad registered model name" in err


def test_register_refuses_a_run_that_logs_no_mlflow_model_before_training(capsys):
    assert main(["train", "--framework", "numpy", "--arch", "mlp", "--epochs", "1", "--register", "m",
                 "--quiet"]) == 2
    assert "runs log no MLflow Model" in capsys.readouterr().err and not mlflow_runs()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.integration
@pytest.mark.slow  # about a minute here: a study, its refit and a server importing torch
def test_the_champion_served_over_rest_answers_what_nnlab_evaluate_scores(capsys, lab_dir):
    import mlflow

    from experiments.tasks import scorer

    tiny = ["--data", "digits", "--archs", "mlp", "--frameworks", "torch", "--epochs", "1", "--quiet"]
    assert main(["tune", "--study", "s", "--trials", "1", *tiny]) == 0
    assert main(["best", "--study", "s", "--quiet", "--register", "digits-mlp"]) == 0
    out = capsys.readouterr().out
    assert "registered models:/digits-mlp@champion (version 1)" in out
    refit = next(r for r in mlflow_runs("digits") if r.data.tags.get("refit") == "train+val")
    from experiments import tracking
    from experiments.evaluate import plan_from_run

    version = tracking.client().get_model_version_by_alias("digits-mlp", "champion")
    assert version.tags["optuna.study"] == "s" and version.tags["run_id"] == refit.info.run_id

    plan, _, _ = plan_from_run(refit.info.run_id)
    datamodule = make_datamodule(plan)
    x = datamodule.splits["test"].x
    port = free_port()
    venv_bin = Path(sys.executable).parent  # `mlflow models serve` runs uvicorn from the PATH
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": tracking.tracking_uri(),
           "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = subprocess.Popen([str(venv_bin / "mlflow"), "models", "serve", "-m",
                               "models:/digits-mlp@champion", "--env-manager", "local", "--host", "127.0.0.1",
                               "--port", str(port), "--workers", "1"], env=env, cwd=lab_dir,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the model server did not answer in 120 s"
                time.sleep(0.5)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations",
                                         data=json.dumps({"inputs": x.tolist()}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            served = np.asarray(json.loads(response.read())["predictions"], dtype=np.float32)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log = server.stderr.read().decode()
    assert "Traceback" not in log, log[-3000:]
    in_process = mlflow.pyfunc.load_model("models:/digits-mlp@champion").predict(x)
    np.testing.assert_allclose(served, in_process, rtol=0, atol=1e-6)
    evaluated, _ = evaluate_run(refit.info.run_id)
    assert scorer("classify").evaluate(served, datamodule)["test/acc"] == evaluated["test/acc"]


def test_system_metrics_records_cpu_and_memory_and_is_a_param(monkeypatch):
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    train(quick("torch", epochs=2, system_metrics=True), progress=lambda *a: None)
    (run,) = mlflow_runs("digits")
    assert run.data.params["system_metrics"] == "True"
    assert run.data.metrics["system/cpu_utilization_percentage"] >= 0
    assert run.data.metrics["system/system_memory_usage_megabytes"] > 0
