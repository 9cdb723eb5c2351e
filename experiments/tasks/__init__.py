"""Framework-neutral scoring, one file per task: the same NumPy code scores the
outputs of both frameworks, so their test metrics mean exactly the same thing.

Each task file offers:
- `evaluate(outputs, datamodule) -> dict` of final metrics (`test/...` keys);
- `artifacts(outputs, datamodule, history, folder, title) -> list[Path]` of files to log.
"""
from __future__ import annotations

import importlib

from modules.errors import UserError

SCORERS = {"classify": "classify", "translate": "translate", "reconstruct": "reconstruct", "generate": "generate", "forecast": "forecast"}


def scorer(task: str):
    """The module that scores outputs of `task`."""
    if task not in SCORERS:
        raise UserError(f"no scorer for task {task!r}; implemented: {', '.join(SCORERS)}")
    return importlib.import_module(f"experiments.tasks.{SCORERS[task]}")


def effective_task(arch_task: str, data_task: str, arch_name: str = "", data_name: str = "") -> str:
    """The task a run trains and scores: the architecture's, except that a classifier
    trained on forecasting data becomes a forecaster (one regression output, MSE).

    A forecaster (e.g. `esn`) needs forecasting data: anything else is a UserError.
    """
    if data_task == "forecast" and arch_task == "classify":
        return "forecast"
    if arch_task == "forecast" and data_task != "forecast":
        from datamodules import DATASETS

        valid = ", ".join(sorted(n for n, d in DATASETS.items() if d.task == "forecast"))
        raise UserError(f"{arch_name or 'this architecture'} forecasts; {data_name or 'this dataset'} "
                        f"is {data_task} data: choose --data {valid}")
    return arch_task
