"""Checkpoints that survive interruption, and `nnlab train --resume RUN_ID`.

Every run writes a checkpoint at the end of each epoch under
`mlruns/checkpoints/<run_id>/` (next to the local store, also when the runs
themselves go to a tracking server). A run stopped by Ctrl-C, SIGTERM or even
`kill -9` is resumed from its last finished epoch, in the same MLflow run.
"""
from __future__ import annotations

import ast
import dataclasses
import shutil
from pathlib import Path

from experiments.config import TrainConfig
from modules.errors import UserError

# TrainConfig fields that `TrainConfig.params()` does not log under their own name
_NOT_LOGGED = ("hparams", "quiet", "experiment", "data_dir", "data_options")


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a fit; the run's last checkpoint is kept (a KeyboardInterrupt,
    so the MLflow run still ends KILLED)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id

    def resume_hint(self) -> str:
        kept = "the last finished epoch's checkpoint is kept" if checkpoint_dir(self.run_id).exists() \
            else "no epoch had finished yet"
        return f"interrupted; the MLflow run is marked KILLED and {kept}; resume with `nnlab train --resume {self.run_id}`"


def checkpoint_dir(run_id: str) -> Path:
    """Where run `run_id` keeps its per-epoch checkpoint."""
    from experiments.tracking import MLRUNS

    return MLRUNS / "checkpoints" / run_id


def discard_checkpoint(run_id: str) -> None:
    """Remove a finished run's checkpoint (its model is logged in MLflow)."""
    shutil.rmtree(checkpoint_dir(run_id), ignore_errors=True)


def _parse(text: str):
    """A logged param (`str(value)`) back to its value: numbers, None, booleans, tuples, else text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def config_for_resume(run_id: str, data_dir: str | None = None, quiet: bool = False) -> TrainConfig:
    """The config of unfinished MLflow run `run_id`, rebuilt from its logged params."""
    from experiments import tracking
    from modules import registry

    client = tracking.client()
    try:
        run = client.get_run(run_id)
    except Exception:  # noqa: BLE001  (MlflowException: not found / malformed id)
        raise UserError(f"no MLflow run {run_id!r} in {tracking.tracking_uri()} to resume; "
                        "check the id printed by `nnlab train` (or MLFLOW_TRACKING_URI)") from None
    if run.info.status == "FINISHED":
        raise UserError(f"run {run_id} already FINISHED; nothing to resume (start a new run with `nnlab train`)")
    params = run.data.params
    missing = [k for k in ("framework", "arch", "data", "epochs") if k not in params]
    if missing:
        raise UserError(f"run {run_id} was not made by `nnlab train` (no {', '.join(missing)} params); cannot resume it")
    names = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in _NOT_LOGGED]
    settings = {k: _parse(params[k]) for k in names if k in params}
    settings["arch"], settings["framework"], settings["data"] = params["arch"], params["framework"], params["data"]
    arch = registry.get(settings["arch"])
    hparams = {k: _parse(params[k]) for k in arch.defaults if k in params}
    data_options = {k[len("data."):]: _parse(v) for k, v in params.items() if k.startswith("data.")}
    experiment = client.get_experiment(run.info.experiment_id).name
    return TrainConfig(**settings, hparams=hparams, data_options=data_options, experiment=experiment,
                       data_dir=data_dir, quiet=quiet).validate()
