"""Train with Keras 3 (TensorFlow backend)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from experiments.runners import EpochCallback, FitResult
from modules import backend

keras = backend.keras()

from experiments.tasks import effective_task  # noqa: E402
from modules.keras.layers import count_parameters  # noqa: E402
from modules.keras.tasks import task_class  # noqa: E402


def lab_metric_name(keras_name: str) -> str:
    """Keras's log names -> the lab's: `loss` -> `train/loss`, `val_acc` -> `val/acc`."""
    if keras_name.startswith("val_"):
        return "val/" + keras_name[4:]
    return "train/" + keras_name


class ReportEpochs(keras.callbacks.Callback):
    """Hands each epoch's metrics to the tracker under the lab's names."""

    def __init__(self, on_epoch: EpochCallback, after_epoch=None) -> None:
        super().__init__()
        self.on_epoch, self.history = on_epoch, []
        self.after_epoch = after_epoch  # (epoch) -> None, called once the metrics are handed over

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        metrics = {lab_metric_name(k): float(v) for k, v in (logs or {}).items()
                   if k != "learning_rate"}
        self.history.append(metrics)
        self.on_epoch(epoch, metrics)
        if self.after_epoch is not None:
            self.after_epoch(epoch)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(seed)
    backend.tensorflow().config.experimental.enable_op_determinism()


def verbosity(config) -> int:
    """A live bar in a terminal, a line per epoch in a log, nothing when quiet."""
    if config.quiet:
        return 0
    return 1 if sys.stdout.isatty() else 2


def build_task(arch, datamodule, config):
    """The network of `arch` for `datamodule`'s shape, wrapped in its Keras task."""
    network = arch.build("keras", datamodule.input_shape, datamodule.num_classes, **config.hparams)
    task = effective_task(arch.task, datamodule.info.task, arch.name, datamodule.info.name)
    return task_class(task)(network, lr=config.lr, optimizer=config.optimizer)


def fit(arch, datamodule, config, on_epoch: EpochCallback, callbacks: list = (),
        on_epoch_outputs=None) -> FitResult:
    """Train `arch` on `datamodule` with Keras `fit`, fed the datamodule's batches
    (see `experiments.runners.fit`)."""
    seed_everything(config.seed)
    task = build_task(arch, datamodule, config)
    after_epoch = None
    if on_epoch_outputs is not None and hasattr(task, "epoch_outputs"):
        after_epoch = lambda epoch: on_epoch_outputs(epoch, task.epoch_outputs())  # noqa: E731
    reporter = ReportEpochs(on_epoch, after_epoch)
    start = time.perf_counter()
    task.model.fit(datamodule.keras_dataset("train", epochs=config.epochs), epochs=config.epochs,
                   steps_per_epoch=datamodule.steps_per_epoch("train"),
                   validation_data=datamodule.keras_dataset("val"),
                   callbacks=[reporter, *callbacks], verbose=verbosity(config))
    train_time = time.perf_counter() - start
    return FitResult(model=task.network, n_params=count_parameters(task.network),
                     train_time_s=train_time,
                     samples_seen=len(datamodule.splits["train"]) * len(reporter.history),
                     test_outputs=task.test_outputs(datamodule), history=reporter.history)


def save_model(model, folder: Path) -> Path:
    """Save the `.keras` file (load it back with `safe_mode=True`)."""
    path = folder / "model.keras"
    model.save(path)
    return path
