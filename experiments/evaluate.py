"""Reload a trained model and score it on a test split, without running anyone's code.

PyTorch weights load with `torch.load(..., weights_only=True)`, which refuses any
pickle that would call code; Keras files load with `safe_mode=True`, which refuses
Lambda layers and other serialized bytecode. Either way the network itself is
rebuilt from the registry, so a file can only ever supply numbers.
"""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from experiments.config import TrainConfig, config_from_logged
from experiments.plan import RunPlan, as_plan, plan_for
from modules import backend
from modules.errors import UserError


def plan_from_run(run_id: str) -> tuple[RunPlan, dict, str]:
    """(plan, logged metrics, artifact folder) of MLflow run `run_id`."""
    from experiments import tracking

    run = tracking.lab_run(run_id, "; list runs with `mlflow ui` or check MLFLOW_TRACKING_URI")
    # scoring runs in this one process, in float32 on the CPU, whatever devices and precision the
    # training used (the weights are float32 under every precision)
    config = dataclasses.replace(config_from_logged(run.data.params, quiet=True), devices=1, num_nodes=1,
                                 strategy=None, distribute=False, accelerator="cpu", precision="32")
    return plan_for(config), run.data.metrics, run.info.artifact_uri


def load_torch_weights(path: Path, network) -> None:
    """Load a state dict into `network`; refuse files whose unpickling would run code."""
    torch = backend.torch()
    import pickle
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note on pickle protocols
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, AttributeError) as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("Unsupported")),
                      "it is not a torch state dict")
        raise UserError(f"refusing to load {path}: not a plain weights file (weights_only=True: "
                        f"{reason[:160]}); load only model files you trust") from None
    if not isinstance(state, dict):
        raise UserError(f"{path} holds a {type(state).__name__}, not a state dict")
    try:
        network.load_state_dict(state)
    except RuntimeError as err:
        raise UserError(f"{path} does not fit this architecture: {str(err).splitlines()[0]}") from None


def load_keras_weights(path: Path, network) -> None:
    """Load a `.keras` file's weights into `network`, checking it with safe_mode=True first."""
    keras = backend.keras()
    try:
        keras.saving.load_model(path, safe_mode=True, compile=False)
    except ValueError as err:
        if "safe_mode" in str(err) or "unsafe" in str(err).lower() or "lambda" in str(err).lower():
            raise UserError(f"refusing to load {path}: it holds serialized code (a Lambda layer); "
                            "safe_mode=True forbids that; load only model files you trust") from None
    except Exception:  # noqa: BLE001  (custom layers unknown to Keras: the rebuild below decides)
        pass
    try:
        network.load_weights(path)
    except Exception as err:  # noqa: BLE001
        raise UserError(f"{path} does not fit this architecture ({type(err).__name__}); "
                        "check --arch, --set and --image-size") from None


def evaluate(plan: RunPlan | TrainConfig, model_file: Path) -> dict:
    """Rebuild `plan`'s network (a TrainConfig is validated into a plan), load `model_file`
    into it, score the test split."""
    from experiments.tasks import scorer
    from experiments.train import make_datamodule

    if not Path(model_file).is_file():
        raise UserError(f"model file {model_file} not found")
    plan = as_plan(plan)
    config, arch = plan.config, plan.arch
    datamodule = make_datamodule(plan)
    if config.framework == "torch":
        from experiments.runners.torch_runner import build_task

        task = build_task(arch, datamodule, config)
        load_torch_weights(Path(model_file), task.network)
    elif config.framework == "keras":
        from experiments.runners.keras_runner import build_task

        task = build_task(arch, datamodule, config)
        load_keras_weights(Path(model_file), task.network)
    else:
        raise UserError(f"evaluate supports torch and keras models, not {config.framework}")
    outputs = task.test_outputs(datamodule)
    return scorer(plan.task).evaluate(outputs, datamodule)


def evaluate_run(run_id: str) -> tuple[dict, dict]:
    """(metrics now, metrics logged) for MLflow run `run_id`'s saved model."""
    from experiments import tracking

    plan, logged, _ = plan_from_run(run_id)
    name = "model.pt" if plan.config.framework == "torch" else "model.keras"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = tracking.client().download_artifacts(run_id, f"model/{name}", tmp)
        except Exception:  # noqa: BLE001
            raise UserError(f"run {run_id} has no model/{name} artifact (did it finish?)") from None
        return evaluate(plan, Path(local)), logged
