"""The `nnlab` command line: fast listing, one-line errors, metrics JSON."""
import json
import re

import pytest
from conftest import mlflow_runs, run_cli

from modules import registry


def test_help_and_list_load_no_framework():
    import subprocess
    import sys

    from conftest import ROOT

    probe = ("import sys; from experiments.cli import main; main(['list']); "
             "heavy = [m for m in ('torch', 'tensorflow', 'mlflow', 'keras') if m in sys.modules]; "
             "print('HEAVY', heavy)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout


def test_list_json_shows_every_architecture_with_both_parameter_counts():
    done = run_cli("list", "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    names = {a["name"] for a in listing["architectures"]}
    assert names == set(registry.names())
    for arch in listing["architectures"]:
        # equal, or torch larger by its redundant RNN/LSTM second bias (tests/test_models.py counts it)
        assert arch["params_torch"] >= arch["params_keras"] > 0, arch["name"]
        assert arch["params_torch"] == arch["params_keras"] or arch["family"] in ("recurrent", "attention")
    digits = next(d for d in listing["datasets"] if d["name"] == "digits")
    assert digits["shape"] == [1, 8, 8] and digits["source"] == "embedded"
    assert (digits["train"], digits["val"], digits["test"]) == (1257, 180, 360)


@pytest.mark.parametrize("args, message", [
    (["train", "--arch", "resnet999"], "unknown architecture 'resnet999'; valid:"),
    (["train", "--arch", "mlp", "--data", "imagenet"], "unknown dataset 'imagenet'; valid:"),
    (["train", "--arch", "mlp", "--framework", "jax"], "unknown framework 'jax'; valid: torch, keras"),
    (["train", "--arch", "mlp", "--epochs", "0"], "--epochs: must be a positive integer"),
    (["train", "--arch", "mlp", "--batch-size", "-3"], "--batch-size: must be a positive integer"),
    (["train", "--arch", "mlp", "--lr", "0"], "--lr: must be positive"),
    (["train", "--arch", "mlp", "--set", "activation=swish2"], "activation='swish2' is not valid"),
    (["train", "--arch", "lenet5", "--data", "digits"], "at least 28x28; digits is 8x8: pass --image-size 28"),
    (["train", "--arch", "mlp", "--optimizer", "lbfgs"], "unknown optimizer 'lbfgs'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    done = run_cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert mlflow_runs() == []  # validated before any run was started


@pytest.mark.integration
def test_offline_download_names_files_and_folder_and_marks_the_run_failed(lab_dir):
    done = run_cli("train", "--arch", "mlp", "--data", "cifar10", "--data-dir", str(lab_dir / "nothing"),
                   cwd=lab_dir)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "data_batch_1" in line and "nothing" in line
    [run] = mlflow_runs()
    assert run.info.status == "FAILED"


@pytest.mark.integration
def test_train_prints_metrics_and_run_id_and_writes_metrics_json(lab_dir):
    done = run_cli("train", "--framework", "torch", "--arch", "mlp", "--data", "digits", "--epochs", "1",
                   "--quiet", "--metrics-out", "out/metrics.json", "--set", "depth=1", cwd=lab_dir)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((lab_dir / "out" / "metrics.json").read_text())
    info = json.loads((lab_dir / "out" / "metrics.info.json").read_text())  # names and ids: not DVC metrics
    assert f"MLflow run {info['run_id']}" in done.stdout
    assert 0.0 <= metrics["test/acc"] <= 1.0 and metrics["n_params"] == 64 * 256 + 256 + 2570
    assert done.stderr.strip() == ""  # no framework log spam


@pytest.mark.integration
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_train_without_quiet_in_a_log_prints_a_line_per_epoch_and_no_framework_spam(lab_dir, framework):
    done = run_cli("train", "--framework", framework, "--arch", "mlp", "--data", "digits", "--epochs", "2",
                   "--set", "depth=1", cwd=lab_dir)  # stdout is a pipe: lines, not a live bar
    assert done.returncode == 0, done.stderr
    epochs = [line for line in done.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split("  ")[0] for line in epochs] == ["epoch 1/2", "epoch 2/2"]
    # the same names in the same order in both frameworks (Keras's own bar is off)
    assert all(re.fullmatch(r"epoch \d/2  train/loss \S+  train/acc \S+  val/loss \S+  val/acc \S+  \S+s", line)
               for line in epochs), epochs
    assert done.stderr.strip() == ""


def test_an_output_file_that_cannot_be_written_is_refused_before_training(lab_dir):
    (lab_dir / "a_file").write_text("")
    result = run_cli("train", "--arch", "mlp", "--data", "digits", "--epochs", "1",
                     "--metrics-out", "a_file/m.json", cwd=lab_dir)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "nnlab: error: cannot write a_file/m.json: part of its folder is a file; pass a writable path"]
    assert mlflow_runs() == [], "no run was started"


def test_a_preset_is_resolved_under_set_logged_and_restored_from_the_logged_params(monkeypatch, capsys):
    import dataclasses

    from experiments.cli import main
    from experiments.config import TrainConfig, config_from_logged
    from experiments.plan import plan_for, resolve

    monkeypatch.setitem(registry.get("mlp").presets, "narrow", {"width": 32, "depth": 2})
    plan = resolve({"arch": "mlp", "data": "digits", "preset": "narrow", "hparams": {"depth": "4"}},
                   params_file=None)
    assert plan.preset == "narrow" and plan.config.hparams["width"] == 32 and plan.config.hparams["depth"] == 4
    logged = {key: str(value) for key, value in plan.params().items()}
    assert logged["preset"] == "narrow"
    restored = config_from_logged(logged)
    assert restored.preset == "narrow" and plan_for(restored).config == plan.config
    assert resolve({"arch": "mlp"}, params_file=None).params()["preset"] == "default"

    config = TrainConfig(arch="mlp")
    untouched = dataclasses.replace(config)
    assert plan_for(config).config.data == "mnist1d"
    assert config == untouched  # validation completes a copy, never the config it checks

    assert main(["train", "--arch", "mlp", "--preset", "wide", "--quiet"]) == 2
    assert "mlp has no preset 'wide'; valid: default, zalando, narrow" in capsys.readouterr().err


@pytest.mark.parametrize("settings", [{"arch": "mlp", "data": "digits", "image_size": 12},
                                      {"arch": "mlp", "data": "mnist1d"},
                                      {"arch": "esn", "data": "sunspots", "data_options": {"window": "6"}}])
def test_the_plans_input_shape_is_the_datamodules(settings):
    from experiments.plan import resolve
    from experiments.train import make_datamodule

    plan = resolve(settings, params_file=None)
    assert plan.input_shape == tuple(make_datamodule(plan).input_shape)
