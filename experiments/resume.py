"""Checkpoints that survive interruption, and `nnlab train --resume RUN_ID`.

Every run writes a checkpoint at the end of each epoch under `mlruns/checkpoints/<run_id>/`
(beside the SQLite store, wherever `MLFLOW_TRACKING_URI` puts it; under `mlruns/` when the runs
go to a tracking server). A run stopped by Ctrl-C, SIGTERM or even `kill -9` is resumed from its
last finished epoch, in the same MLflow run.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from experiments.config import config_from_logged
from experiments.plan import RunPlan, plan_for
from modules.errors import UserError


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a fit; the run's last checkpoint is kept (a KeyboardInterrupt,
    so the MLflow run still ends KILLED)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id

    def resume_hint(self) -> str:
        kept = "the last finished epoch's checkpoint is kept" if checkpoint_dir(self.run_id).exists() \
            else "no epoch had finished yet"
        return (f"interrupted; the MLflow run is marked KILLED and {kept}; "
                f"resume with `nnlab train --resume {self.run_id}`")


def checkpoint_dir(run_id: str) -> Path:
    """Where run `run_id` keeps its per-epoch checkpoint: beside a SQLite store, else (a tracking
    server) under `mlruns/`."""
    from experiments.tracking import MLRUNS, store_folder

    return (store_folder() or MLRUNS) / "checkpoints" / run_id


def discard_checkpoint(run_id: str) -> None:
    """Remove a finished run's checkpoint (its model is logged in MLflow)."""
    shutil.rmtree(checkpoint_dir(run_id), ignore_errors=True)


def plan_for_resume(run_id: str, data_dir: str | None = None, quiet: bool = False) -> RunPlan:
    """The plan of unfinished MLflow run `run_id`, rebuilt from its logged params."""
    from experiments import tracking

    run = tracking.lab_run(run_id, " to resume; check the id printed by `nnlab train` (or MLFLOW_TRACKING_URI)",
                           required=("framework", "arch", "data", "epochs"), refusal="; cannot resume it")
    if run.info.status == "FINISHED":
        raise UserError(f"run {run_id} already FINISHED; nothing to resume (start a new run with `nnlab train`)")
    experiment = tracking.client().get_experiment(run.info.experiment_id).name
    return plan_for(config_from_logged(run.data.params, experiment=experiment, data_dir=data_dir, quiet=quiet))
