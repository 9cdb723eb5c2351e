"""Framework callbacks a trial passes to `experiments.train.train`.

Each epoch, after the runner has logged that epoch's metrics, they count the
epoch, stop a run whose training loss is no longer finite (it diverged), and,
when the study prunes, report the validation metric to the trial with
optuna-integration's pruning callbacks, which raise `optuna.TrialPruned`.

The Lightning pruning callback checks in `on_validation_end`, before the lab's
reporter has logged the epoch; here it checks at the end of the training epoch
(validation has run by then), so a pruned run's last epoch is in MLflow too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


class Diverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class EpochLog:
    """What the callbacks saw: epochs finished, and the epoch a trial was pruned at."""

    epochs: int = 0
    pruned_epoch: int | None = None


def keras_metric_name(lab_key: str) -> str:
    """The lab's `val/acc` -> Keras's log name `val_acc`."""
    stage, _, name = lab_key.partition("/")
    return f"val_{name}" if stage == "val" else name


def _check_finite(loss, epoch: int) -> None:
    if loss is not None and not math.isfinite(float(loss)):
        raise Diverged(f"diverged: train/loss is {float(loss)} at epoch {epoch}")


def trial_callbacks(framework: str, trial, monitor: str | None, log: EpochLog) -> list:
    """Callbacks for one trial in `framework`; `monitor` (e.g. `val/acc`) None: no pruning."""
    if framework == "torch":
        return _lightning_callbacks(trial, monitor, log)
    return _keras_callbacks(trial, monitor, log)


def _lightning_callbacks(trial, monitor, log: EpochLog) -> list:
    from modules import backend

    pl = backend.lightning()
    from optuna_integration import PyTorchLightningPruningCallback

    class EpochGuard(pl.Callback):
        def on_train_epoch_end(self, trainer, task) -> None:
            log.epochs = trainer.current_epoch + 1
            _check_finite(task.epoch_metrics().get("train/loss"), trainer.current_epoch)

    class EpochEndPruning(PyTorchLightningPruningCallback):
        def on_validation_end(self, trainer, task) -> None:
            pass  # checked at the end of the epoch instead, after the reporter

        def on_train_epoch_end(self, trainer, task) -> None:
            log.pruned_epoch = trainer.current_epoch
            super().on_validation_end(trainer, task)
            log.pruned_epoch = None  # not pruned this epoch

    return [EpochGuard()] + ([EpochEndPruning(trial, monitor=monitor)] if monitor else [])


def _keras_callbacks(trial, monitor, log: EpochLog) -> list:
    from modules import backend

    keras = backend.keras()
    from optuna_integration import KerasPruningCallback

    class EpochGuard(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None) -> None:
            log.epochs = epoch + 1
            _check_finite((logs or {}).get("loss"), epoch)

    class Pruning(KerasPruningCallback):
        def on_epoch_end(self, epoch, logs=None) -> None:
            log.pruned_epoch = epoch
            super().on_epoch_end(epoch, logs)
            log.pruned_epoch = None

    return [EpochGuard()] + ([Pruning(trial, keras_metric_name(monitor))] if monitor else [])
