"""Lightning task modules, one file per task, looked up by the registry's task name.

Mirrors `modules/keras/tasks/`. Networks hold no training logic; a task takes
one by injection and says how to train it and what it outputs on a split.
Every task module offers `epoch_metrics()` (the lab's per-epoch keys) and
`predict_split(datamodule, split)` (NumPy outputs, channels-first).
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
    """The LightningModule class that trains networks of `task`."""
    if task not in TASK_CLASSES:
        raise UserError(f"no PyTorch task for {task!r}; implemented: {', '.join(TASK_CLASSES)}")
    module, name = TASK_CLASSES[task].split(":")
    return getattr(importlib.import_module(f"modules.torch.tasks.{module}"), name)
