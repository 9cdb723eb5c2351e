"""A run's network as an MLflow Model: a pyfunc model logged from code, so loading it unpickles nothing.

What the model's folder holds: `network.json` (framework, architecture, every hyperparameter,
input shape, classes: the registry rebuilds the network from it), the weights (`model.pt`, a
plain state dict loaded with `torch.load(weights_only=True)`; `model.keras`, checked with
`safe_mode=True`) and `experiments/mlflow_pyfunc.py`, the models-from-code file
(https://mlflow.org/docs/latest/ml/model/models-from-code/) that MLflow runs to get the lab's
`PythonModel`, instead of a cloudpickle of an object. The model takes the test split's inputs
as the datamodule serves them (standardised, channels-first, float32) and returns the network's
outputs (a classifier's logits): the very arrays `nnlab evaluate` scores. Loading it needs the
lab installed (`mlflow models serve --env-manager local` in the lab's environment).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

import numpy as np

from modules.errors import UserError

MODEL_NAME = "network"  # the LoggedModel's name in the run (its Models column); not "model", the
# weights folder's name: MLflow 3 reads `runs:/ID/model` as that logged model once one has the name
SPEC_FILE = "network.json"
ENTRY_FILE = Path(__file__).with_name("mlflow_pyfunc.py")  # models from code: the file, not a pickle
# tasks whose network maps the test split's inputs to the outputs the scorer scores
MODEL_TASKS = ("classify",)
EXAMPLE_ROWS = 2  # the input example's rows (the first of the test split)
# Aliases: `nnlab best --register` promotes the study's refit; a hand-trained model is a candidate
# beside it (MLflow's champion/challenger pattern), never silently replacing the champion.
CHAMPION, CHALLENGER = "champion", "challenger"
MODEL_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def check_model_name(name: str) -> str:
    """A registered model's name as the Registry and `models:/NAME@alias` URIs take it."""
    if not MODEL_NAME_PATTERN.fullmatch(name or ""):
        raise UserError(f"bad registered model name {name!r}: use letters, digits, '_', '.' and '-' "
                        "(up to 128 characters, starting with a letter or digit), e.g. digits-mlp")
    return name


def load_network(spec: dict, weights: Path):
    """The network `spec` describes, built by the registry, with `weights` loaded without running code."""
    from experiments.evaluate import load_keras_weights, load_torch_weights
    from modules import registry

    arch = registry.get(spec["arch"])
    network = arch.build(spec["framework"], tuple(spec["input_shape"]), spec["num_classes"], **spec["hparams"])
    if spec["framework"] == "torch":
        load_torch_weights(weights, network)
        if len(spec["input_shape"]) == 3:  # as training and `nnlab evaluate` run it (torch_runner.build_task)
            from modules import backend

            network = network.to(memory_format=backend.torch().channels_last)
        network.eval()
    else:
        load_keras_weights(weights, network)
    return network


def predict(framework: str, network, x: np.ndarray, batch_size: int) -> np.ndarray:
    """The network's outputs on `x` (channels-first), in evaluation mode, as the tasks' `predict_split`."""
    from modules import backend

    if framework == "torch":
        torch = backend.torch()
        with torch.inference_mode():
            return torch.cat([network(torch.from_numpy(x[i:i + batch_size]))
                              for i in range(0, len(x), batch_size)]).numpy()
    from datamodules.core import channels_last
    from experiments.tasks.keras_base import to_channels_first

    return to_channels_first(np.asarray(network.predict(channels_last(x), batch_size=batch_size, verbose=0)))


def requirements(framework: str) -> list[str]:
    """Pinned pip requirements (written, not inferred: inference imports the model in a subprocess)."""
    from importlib.metadata import version

    libraries = ("torch",) if framework == "torch" else ("keras", "tensorflow")
    return [f"{name}=={version(name)}" for name in ("mlflow", "numpy", *libraries)]


@contextlib.contextmanager
def pins_trusted():
    """Skip MLflow's check of the model's pip requirements against this environment while a model
    is logged (on saving it, and on loading it to validate the input example): it maps every
    installed distribution to its modules (`importlib_metadata.packages_distributions`, about a
    second of every run: docs/benchmarks.md), and `requirements` reads the pins from this very
    environment, so they cannot mismatch. A module where MLflow has no such check is left alone."""
    import mlflow.pyfunc
    from mlflow.utils import environment

    checked = [m for m in (environment, mlflow.pyfunc) if hasattr(m, "warn_dependency_requirement_mismatches")]
    saved = [m.warn_dependency_requirement_mismatches for m in checked]
    for module in checked:
        module.warn_dependency_requirement_mismatches = lambda requirements: None
    try:
        yield
    finally:
        for module, check in zip(checked, saved):
            module.warn_dependency_requirement_mismatches = check


@contextlib.contextmanager
def serving_input_unchecked():
    """Skip MLflow's check, while a model is logged, that it loads and predicts its input example
    (`Model.log` calls `mlflow.models.utils._validate_serving_input` unless a flavor's `save_model`
    takes `validate_serving_input`, which pyfunc's does not)."""
    from mlflow.models import utils

    saved = getattr(utils, "_validate_serving_input", None)
    if saved is None:  # a version without the check: nothing to skip
        yield
        return
    utils._validate_serving_input = lambda model_uri, serving_input: None
    try:
        yield
    finally:
        utils._validate_serving_input = saved


def check_registrable(plan) -> None:
    """Refuse, before training, a `--register` for a run that logs no MLflow Model."""
    if plan.config.framework not in ("torch", "keras") or plan.task not in MODEL_TASKS:
        raise UserError(f"--register: {plan.config.framework} {plan.task} runs log no MLflow Model yet "
                        f"(torch and Keras runs of the {', '.join(MODEL_TASKS)} task do)")


def model_payload(plan, datamodule, result) -> dict | None:
    """What logging `result`'s network as an MLflow Model needs, in plain values (no MLflow
    import): its spec (`SPEC_FILE`), the input example, the outputs' dtype and shape, the pins
    and tags; None for a framework or task it does not cover."""
    config = plan.config
    outputs = result.test_outputs
    if config.framework not in ("torch", "keras") or plan.task not in MODEL_TASKS \
            or not isinstance(outputs, np.ndarray):
        return None
    x = datamodule.splits["test"].x
    spec = {"framework": config.framework, "arch": config.arch, "task": plan.task,
            "input_shape": list(datamodule.input_shape), "num_classes": datamodule.num_classes,
            "hparams": config.hparams, "batch_size": config.batch_size, "data": config.data,
            "dataset_digest": datamodule.digest}
    return {"spec": spec, "example": np.ascontiguousarray(x[:EXAMPLE_ROWS], np.float32),
            "outputs": (outputs.dtype.str, list(outputs.shape[1:])),
            "requirements": requirements(config.framework),
            "tags": {"framework": config.framework, "arch": config.arch, "data": config.data}}


def log_payload(run_id: str, payload: dict, weights: Path, folder: Path, validate: bool = True):
    """Log the network `payload` (`model_payload`) describes, its weights in `weights`, as run
    `run_id`'s MLflow Model (files written in `folder`); the ModelInfo. `validate=False` skips
    MLflow's check that the logged model loads and predicts its input example (a process without
    the framework imported would pay that import for it; tests/test_mlflow_model.py loads them)."""
    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    example, (out_dtype, out_shape) = payload["example"], payload["outputs"]
    spec_path = folder / SPEC_FILE
    spec_path.write_text(json.dumps(payload["spec"], indent=1))
    signature = ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, *example.shape[1:]))]),
                               outputs=Schema([TensorSpec(np.dtype(out_dtype), (-1, *out_shape))]))
    # MLflow 3 files a logged model under the *active* experiment (else experiment 0, whose
    # artifacts live in ./mlruns/0 of the working folder), not the run's: name the run's
    from experiments import tracking

    saved = os.environ.get("MLFLOW_EXPERIMENT_ID")
    os.environ["MLFLOW_EXPERIMENT_ID"] = tracking.client().get_run(run_id).info.experiment_id
    try:
        with pins_trusted(), contextlib.nullcontext() if validate else serving_input_unchecked():
            return mlflow.models.Model.log(
                artifact_path=None, name=MODEL_NAME, flavor=mlflow.pyfunc, run_id=run_id,
                python_model=str(ENTRY_FILE), artifacts={"weights": str(weights), "network": str(spec_path)},
                signature=signature, input_example=example, pip_requirements=payload["requirements"],
                tags=payload["tags"])
    finally:
        if saved is None:
            del os.environ["MLFLOW_EXPERIMENT_ID"]
        else:
            os.environ["MLFLOW_EXPERIMENT_ID"] = saved


def register(model_uri: str, name: str, alias: str, tags: dict) -> str:
    """Register `model_uri` as a new version of `name`, point `alias` at it; the version."""
    import mlflow

    from experiments import tracking

    client = tracking.client()
    version = mlflow.register_model(model_uri, check_model_name(name),
                                    tags={k: str(v) for k, v in tags.items()}).version
    client.set_registered_model_alias(name, alias, version)
    return str(version)
