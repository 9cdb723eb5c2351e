"""Keras tasks, one file per task, looked up by the registry's task name.

Mirrors `modules/torch/tasks/`. A task wraps a network: `task.model` is what
Keras `fit` trains (compiled, or a Model subclass with its own `train_step`
where the task needs one), and `predict_split(datamodule, split)` returns
NumPy outputs, channels-first like the torch side.
"""
from __future__ import annotations

import importlib

from modules.errors import UserError

TASK_CLASSES = {
    "classify": "classify:ClassifierTask",
    "translate": "translate:TranslateTask",
    "reconstruct": "reconstruct:ReconstructTask",
    "generate": "generate:GenerateTask",
    "forecast": "forecast:ForecastTask",
}


def task_class(task: str):
    """The Keras task class that trains networks of `task`."""
    if task not in TASK_CLASSES:
        raise UserError(f"no Keras task for {task!r}; implemented: {', '.join(TASK_CLASSES)}")
    module, name = TASK_CLASSES[task].split(":")
    return getattr(importlib.import_module(f"modules.keras.tasks.{module}"), name)
