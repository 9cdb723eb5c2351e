"""The lab's tasks, one folder each: how a network is trained and how its outputs are scored.

`experiments/tasks/<task>/` holds the task's twins, `torch_task.py` (an `nn.Module` with
LightningModule's method names, that the lab's loop trains on Fabric) and `keras_task.py` (what
Keras `fit` trains), which define the same class, and `scorer.py`: NumPy code that scores the
outputs of either framework, so their test metrics mean exactly the same thing. Networks hold no
training logic: a task takes one by injection. The bases the twins share are `torch_base.py` and
`keras_base.py` beside this file.

Every task class offers `predict_split(datamodule, split)` and `test_outputs(datamodule)`
(NumPy outputs, channels-first); the torch side also `epoch_metrics()`. Every scorer offers
- `evaluate(outputs, datamodule) -> dict` of final metrics (`test/...` keys);
- `artifacts(outputs, datamodule, history, folder, title) -> list[Path]` of files to log;
and, where the task says so, `NORMALIZE_INPUTS = False` and `epoch_artifacts(...)`.

The task names themselves belong to `modules.registry.TASKS`: the registry validates each
architecture's task without importing `experiments/` (imports only run downward), so it owns
the names, and `TASKS` below gives each of them its class; `tests/test_tasks.py` checks that
the two list the same names in the same order.
"""
from __future__ import annotations

import importlib

from modules.errors import UserError
from modules.registry import FRAMEWORKS

# task name -> the class that its torch_task.py and keras_task.py both define
TASKS = {
    "classify": "ClassifierTask",
    "reconstruct": "ReconstructTask",
    "generate": "GenerateTask",
    "forecast": "ForecastTask",
    "translate": "TranslateTask",
}


def check_task(task: str) -> None:
    """An unknown task names the implemented ones."""
    if task not in TASKS:
        raise UserError(f"unknown task {task!r}; implemented: {', '.join(TASKS)}")


def scorer(task: str):
    """The module that scores outputs of `task` (NumPy only: imports no framework)."""
    check_task(task)
    return importlib.import_module(f"experiments.tasks.{task}.scorer")


def task_class(task: str, framework: str):
    """The class that trains networks of `task` in `framework` ("torch" or "keras"): import it
    only once `modules.backend` has loaded that framework, as the runners do."""
    check_task(task)
    if framework not in FRAMEWORKS:
        raise UserError(f"no {framework!r} twin of a task; frameworks: {', '.join(FRAMEWORKS)}")
    return getattr(importlib.import_module(f"experiments.tasks.{task}.{framework}_task"), TASKS[task])


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


# the families whose classifiers read a window (T, 1) as a sequence of values, and so forecast
FORECASTING_FAMILIES = ("feedforward", "recurrent")


def check_forecast_fit(arch, data) -> None:
    """A series forecast needs a network that maps a window (T, 1) to one value: a forecaster or
    a classifier of `FORECASTING_FAMILIES`. Any other network (an image network, one that reads
    word ids, one of another task) on forecasting data is a UserError naming the datasets shaped
    like its default one, which it takes."""
    if data.task != "forecast" or arch.task == "forecast" or (
            arch.task == "classify" and arch.family in FORECASTING_FAMILIES):
        return
    from datamodules import DATASETS

    home = DATASETS[arch.default_data]
    valid = sorted(n for n, d in DATASETS.items()
                   if (d.task, d.kind, len(d.shape)) == (home.task, home.kind, len(home.shape)))
    raise UserError(f"{arch.name} cannot forecast {data.name}: it takes {home.kind} data such as its default "
                    f"{home.name}; choose --data {', '.join(valid)} (or, to forecast {data.name}, --arch esn, "
                    f"mlp or a recurrent net)")
