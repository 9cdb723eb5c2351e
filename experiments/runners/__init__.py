"""Fit a registered network with Lightning or Keras behind one interface.

`fit(framework, ...)` returns a `FitResult` whose fields mean the same thing in
both frameworks; `experiments.train` scores it and writes the MLflow run.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from modules.errors import UserError

EpochCallback = Callable[[int, dict], None]  # (epoch, {"train/loss": ..., "val/acc": ...})
# (epoch, what the task's `epoch_outputs()` returned), e.g. a GAN's samples of that epoch
EpochOutputsCallback = Callable[[int, Any], None]


@dataclass
class FitResult:
    """What a fit leaves: the trained network, its size, timings and test-set outputs."""

    model: Any
    n_params: int
    train_time_s: float
    samples_seen: int
    test_outputs: np.ndarray | None  # None: the config said not to score the test split
    history: list[dict] = field(default_factory=list)
    # what the training controls decided (`experiments.controls`): `best_epoch`, `stopped_epoch`
    controls: dict = field(default_factory=dict)


class TrainingDiverged(UserError):
    """A loss went NaN, infinite or past `EXPLODED_LOSS`: the run stops at that epoch (its last
    good checkpoint kept)."""


# A loss this large is a diverged run that float32 has not yet overflowed (Adam at --lr 1e6 grows
# the weights by about lr per step, so the loss stays finite): no task of the lab comes near it
# (a classifier starts at ln(classes), forecasters and autoencoders work on data in [0, 1] or
# standardised, a VAE's summed reconstruction loss is some hundreds).
EXPLODED_LOSS = 1e12


def check_finite(epoch: int, metrics: dict) -> None:
    """Raise `TrainingDiverged` if a loss of epoch `epoch` (0-based; said 1-based, as the progress
    lines show it) is NaN, infinite or past `EXPLODED_LOSS`. Every runner calls it before the epoch
    is logged or checkpointed."""
    for key, value in metrics.items():
        if "loss" in key and not abs(value) <= EXPLODED_LOSS:  # NaN compares False
            what = "loss" if key == "train/loss" else key
            raise TrainingDiverged(f"training diverged at epoch {epoch + 1}: {what} {value:.3g}; lower --lr")


def runner(framework: str):
    """The runner module of `framework` (imports that framework)."""
    return importlib.import_module(f"experiments.runners.{framework}_runner")


def fit(framework: str, arch, datamodule, config, on_epoch: EpochCallback,
        callbacks: list = (), on_epoch_outputs: EpochOutputsCallback | None = None,
        checkpoint_dir: Path | None = None) -> FitResult:
    """Train `arch` on `datamodule` with `config` in `framework`; call `on_epoch` after each epoch.

    `callbacks` are framework callbacks (`torch_runner.Callback`, with the hook names of
    Lightning's, or Keras callbacks), e.g. Optuna pruning.
    `on_epoch_outputs`, if given, receives after each epoch what the task's `epoch_outputs()`
    returns (tasks without that method are skipped), e.g. samples to log as an image.
    `checkpoint_dir`, if given, receives a checkpoint after the first epoch and then as often
    as `experiments.pacing.Pacer` allows (0.5% of the time); a checkpoint already there is
    resumed from (torch and keras runners).
    """
    extra = {"on_epoch_outputs": on_epoch_outputs} if on_epoch_outputs is not None else {}
    if checkpoint_dir is not None and framework in ("torch", "keras"):
        extra["checkpoint_dir"] = Path(checkpoint_dir)
    join_cluster(config)
    return runner(framework).fit(arch, datamodule, config, on_epoch, callbacks=callbacks, **extra)


_JOINED = False  # this process's Keras worker has formed its cluster


def join_cluster(config) -> None:
    """A Keras worker (`config.workers`): form the cluster, once per process, before anything
    loads TensorFlow: its MultiWorkerMirroredStrategy must come before the first op, which
    `modules.backend` runs on import unless TF_CONFIG is set. Nothing for other configs."""
    global _JOINED
    if not getattr(config, "workers", None) or _JOINED:
        return
    from experiments.runners import keras_multiworker

    keras_multiworker.join_cluster(config.workers, config.worker_index, config.worker_timeout)
    _JOINED = True


def save_model(framework: str, model, folder: Path) -> Path:
    """Write the trained network into `folder`; return the file's path."""
    return runner(framework).save_model(model, Path(folder))


# --- what the terminal shows, the same in every runner -------------------------------------
def ordered_metrics(metrics: dict) -> list[tuple[str, float]]:
    """`metrics` in the terminal's order: train/ before val/, loss before the others, then by name
    (`train/loss train/acc val/loss val/acc`); learning rates are left to MLflow."""
    def rank(key: str) -> tuple:
        stage, _, name = key.partition("/")
        return ({"train": 0, "val": 1}.get(stage, 2), "loss" not in name, key)

    return [(k, metrics[k]) for k in sorted(metrics, key=rank) if not k.startswith("train/lr")]


def epoch_line(epoch: int, epochs: int, metrics: dict, seconds: float | None = None) -> str:
    """The line every runner prints after epoch `epoch` (counted from 1, as MLflow's steps):
    `epoch 3/10  train/loss 0.4100  train/acc 0.8700  val/loss 0.3900  val/acc 0.8800  1.2s`."""
    text = f"epoch {epoch}/{epochs}  " + "  ".join(f"{k} {v:.4f}" for k, v in ordered_metrics(metrics))
    return text + (f"  {seconds:.1f}s" if seconds is not None else "")


class EpochProgress:
    """A live bar with the running train metrics in a terminal (tqdm), a line per epoch in a log;
    the torch loop and a Keras callback drive the same object, so both print the same."""

    def __init__(self, epochs: int, steps: int, live: bool | None = None) -> None:
        import sys

        self.epochs, self.steps, self.bar = epochs, steps, None
        self.live = sys.stdout.isatty() if live is None else live

    def start(self, epoch: int) -> None:
        """Epoch `epoch` (counted from 1) begins."""
        import sys
        import time

        self.started = time.perf_counter()
        if self.live:
            from tqdm import tqdm

            self.bar = tqdm(total=self.steps, desc=f"epoch {epoch}/{self.epochs}", leave=True,
                            dynamic_ncols=True, file=sys.stdout)

    def step(self, done: int, running=None) -> None:
        """`done` steps of the epoch finished; `running()` gives the running train metrics, asked
        for only when the bar redraws (tqdm's `mininterval`), so it costs nothing per step."""
        if self.bar is None:
            return
        self.bar.update(done - self.bar.n)
        if running is not None and self.bar.last_print_n == self.bar.n:  # it just redrew
            self.bar.set_postfix_str("  ".join(f"{k} {v:.4f}" for k, v in ordered_metrics(running())),
                                     refresh=False)

    def end(self, epoch: int, metrics: dict) -> None:
        """Epoch `epoch` (counted from 1) ended with `metrics`: the bar closes on them, or one line."""
        import time

        seconds = time.perf_counter() - self.started
        if self.bar is not None:
            self.bar.update(self.steps - self.bar.n)
            self.bar.set_postfix_str("  ".join(f"{k} {v:.4f}" for k, v in ordered_metrics(metrics))
                                     + f"  {seconds:.1f}s")
            self.bar.close()
            self.bar = None
        else:
            print(epoch_line(epoch, self.epochs, metrics, seconds), flush=True)
