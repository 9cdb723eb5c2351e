"""Twins that learn alike: from the same start on the same batches, torch and Keras take the same
steps (`nnlab twins`, `experiments.twins`)."""
from __future__ import annotations

import pytest

from tests.conftest import run_cli


def twins(arch: str, optimizer: str, lr: float, steps: int = 20, dtype: str = "float32", **recipe):
    from experiments.plan import resolve
    from experiments.train import make_datamodule
    from experiments.twins import train_twins

    plan = resolve({"framework": "torch", "arch": arch, "data": "digits", "image_size": 32, "batch_size": 32,
                    "optimizer": optimizer, "lr": lr, "seed": 0, "quiet": True, **recipe})
    return train_twins(plan, make_datamodule(plan), steps, dtype=dtype)


@pytest.mark.parametrize("arch,optimizer,lr,recipe", [
    ("lenet5", "adam", 1e-2, {}),
    ("lenet5", "sgd", 1e-2, {"momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}),
    # ResNet-20 (batch norm): about a minute on 2 cores, so in the slow tier
    pytest.param("resnet20", "sgd", 5e-2, {"momentum": 0.9, "weight_decay": 5e-4}, marks=pytest.mark.slow),
    ("lenet5", "adamw", 1e-2, {"decoupled_weight_decay": 0.05}),
])
def test_twins_take_the_same_20_steps(arch, optimizer, lr, recipe):
    result = twins(arch, optimizer, lr, **recipe)
    assert len(result.torch_losses) == len(result.keras_losses) == 20
    assert sum(result.torch_losses[-5:]) < sum(result.torch_losses[:5])  # they learn
    assert max(result.loss_rel_diffs()) <= 1e-3
    assert result.max_weight_rel_diff <= 1e-3


@pytest.mark.slow
def test_resnet20_with_adam_is_one_algorithm_in_float64_and_near_in_float32():
    exact = twins("resnet20", "adam", 1e-3, dtype="float64", weight_decay=5e-4)
    assert max(exact.loss_rel_diffs()) <= 1e-10 and exact.max_weight_rel_diff <= 1e-10
    # float32: Adam's sign-like early steps amplify rounding where gradients nearly cancel
    # (docs/architecture.md); the losses still agree per step
    rounded = twins("resnet20", "adam", 1e-3)
    assert max(rounded.loss_rel_diffs()) <= 1e-3


def test_keras_adam_takes_torchs_epsilon_placement():
    """One Adam step on a weight whose gradient is as small as epsilon: torch's update."""
    import numpy as np

    from modules import backend

    torch = backend.torch()
    keras = backend.keras()
    from modules.optim.keras_optim import make_optimizer as keras_optimizer
    from modules.optim.torch_optim import make_optimizer as torch_optimizer

    start = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    grad = np.array([1e-8, -3e-8, 2.0], dtype=np.float32)
    w_torch = torch.nn.Parameter(torch.from_numpy(start.copy()))
    opt = torch_optimizer("adam", [w_torch], 0.1)
    w_torch.grad = torch.from_numpy(grad)
    opt.step()
    w_keras = keras.Variable(start.copy())
    keras_optimizer("adam", 0.1).apply([keras.ops.convert_to_tensor(grad)], [w_keras])
    assert np.allclose(np.asarray(w_keras), w_torch.detach().numpy(), rtol=0, atol=1e-6)
    # Keras's own Adam would move the first weight by 0.1 * 1e-8 / (1e-8 * 0.0316 + 1e-8), not 0.05
    assert abs(float(np.asarray(w_keras)[0]) - 0.95) < 1e-3


@pytest.mark.integration
def test_twins_command_logs_one_run_and_says_they_agree(tmp_path):
    result = run_cli("twins", "--arch", "lenet5", "--data", "digits", "--image-size", "32", "--steps", "5",
                     "--optimizer", "sgd", "--lr", "0.01", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "twins learn alike" in result.stdout
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["twins"])
    assert len(runs) == 1 and runs.iloc[0]["status"] == "FINISHED"
    client = mlflow.tracking.MlflowClient()
    run_id = runs.iloc[0]["run_id"]
    assert len(client.get_metric_history(run_id, "twins/loss_rel_diff")) == 5
    assert [a.path for a in client.list_artifacts(run_id)] == ["twins.png"]


@pytest.mark.parametrize("arch", ["autoencoder", "esn"])
def test_twins_refuses_a_non_classifier_before_preparing_any_data(monkeypatch, capsys, arch):
    import datamodules.core
    import experiments.train
    from experiments import cli

    def no_data(*args, **kwargs):
        raise AssertionError("data was prepared before the refusal")

    monkeypatch.setattr(experiments.train, "make_datamodule", no_data)
    monkeypatch.setattr(datamodules.core.ArrayDataModule, "prepare_data", no_data)
    code = cli.main(["twins", "--arch", arch])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1, err
    assert "compares classifiers on classification data" in err[0] and arch in err[0]
