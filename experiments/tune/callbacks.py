"""Framework callbacks a trial passes to `experiments.train.train`.

Each epoch, after the runner has logged that epoch's metrics (a diverged epoch, its
loss NaN or infinite, has already stopped the run: `experiments.runners.check_finite`),
they count the epoch and, when the study prunes, report the validation metric to the trial and raise
`optuna.TrialPruned` when the pruner says so (Keras: optuna-integration's
`KerasPruningCallback`; torch: the same few lines for the lab's loop). They check
after the lab's reporter has logged the epoch, so a pruned run's last epoch is in
MLflow too.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EpochLog:
    """What the callbacks saw: epochs finished, and the epoch a trial was pruned at (counted
    from 1, as the Optuna steps the trial reported, MLflow's steps and the terminal)."""

    epochs: int = 0
    pruned_epoch: int | None = None


def keras_metric_name(lab_key: str) -> str:
    """The lab's `val/acc` -> Keras's log name `val_acc`."""
    stage, _, name = lab_key.partition("/")
    return f"val_{name}" if stage == "val" else name


def trial_callbacks(framework: str, trial, monitor: str | None, log: EpochLog) -> list:
    """Callbacks for one trial in `framework`; `monitor` (e.g. `val/acc`) None: no pruning."""
    if framework == "torch":
        return _lightning_callbacks(trial, monitor, log)
    return _keras_callbacks(trial, monitor, log)


def _lightning_callbacks(trial, monitor, log: EpochLog) -> list:
    import optuna

    from experiments.runners.torch_runner import Callback

    class EpochGuard(Callback):
        def on_train_epoch_end(self, loop, task) -> None:
            log.epochs = loop.current_epoch + 1

    class EpochEndPruning(Callback):
        """What optuna-integration's Lightning callback does in one process (trials run in one):
        report the epoch's value, raise `TrialPruned` if the pruner says so."""

        def on_train_epoch_end(self, loop, task) -> None:
            value = task.epoch_metrics().get(monitor)
            if value is None:  # as the Keras callback: the trial fails later, on its objective
                return
            epoch = loop.current_epoch + 1  # counted from 1, as MLflow's steps and the terminal
            trial.report(value, step=epoch)
            if trial.should_prune():
                log.pruned_epoch = epoch
                raise optuna.TrialPruned(f"Trial was pruned at epoch {epoch}.")

    return [EpochGuard()] + ([EpochEndPruning()] if monitor else [])


def _keras_callbacks(trial, monitor, log: EpochLog) -> list:
    from modules import backend

    keras = backend.keras()
    from optuna_integration import KerasPruningCallback

    class EpochGuard(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None) -> None:
            log.epochs = epoch + 1

    class Pruning(KerasPruningCallback):
        def on_epoch_end(self, epoch, logs=None) -> None:
            log.pruned_epoch = epoch + 1  # Keras counts from 0; the lab reports from 1
            super().on_epoch_end(epoch + 1, logs)
            log.pruned_epoch = None

    return [EpochGuard()] + ([Pruning(trial, keras_metric_name(monitor))] if monitor else [])
