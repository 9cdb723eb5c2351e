"""Framework-neutral scoring, one file per task: the same NumPy code scores the
outputs of both frameworks, so their test metrics mean exactly the same thing.

Each task file offers:
- `evaluate(outputs, datamodule) -> dict` of final metrics (`test/...` keys);
- `artifacts(outputs, datamodule, history, folder, title) -> list[Path]` of files to log.
"""
from __future__ import annotations

import importlib

from modules.errors import UserError

SCORERS = {"classify": "classify"}


def scorer(task: str):
    """The module that scores outputs of `task`."""
    if task not in SCORERS:
        raise UserError(f"no scorer for task {task!r}; implemented: {', '.join(SCORERS)}")
    return importlib.import_module(f"experiments.tasks.{SCORERS[task]}")
