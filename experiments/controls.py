"""Training controls with one meaning in every runner: which way a metric improves, the
best epoch (`--select-best`), early stopping (`--early-stop`, `--min-delta`).

Framework-free: the torch, Keras and NumPy runners each wrap one `EpochWatch` in a thin
callback, so the best epoch and the stopping epoch are decided by the same lines in all
three. The rule is Lightning's and Keras's `EarlyStopping`: an epoch improves on the best
when it beats it by more than `min_delta`; after `patience` epochs in a row without an
improvement, training stops.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from modules.errors import UserError

# Metrics where higher is better, by the end of their name (`val/acc`, `test/f1`); every other
# metric (loss, error, nrmse, mse, n_params, train_time_s) is better lower. `experiments.tune`
# reads the same table for an objective's direction.
MAXIMIZE_SUFFIXES = ("acc", "accuracy", "f1", "auc", "r2", "bleu", "samples_per_s")

DEFAULT_MONITOR = "val/loss"  # what `--early-stop` watches when `--select-best` names nothing


def higher_is_better(key: str) -> bool:
    """Whether a larger value of metric `key` is the better one (`val/acc`: yes, `val/loss`: no)."""
    return key.rsplit("/", 1)[-1].endswith(MAXIMIZE_SUFFIXES)


def check_monitor(key: str, flag: str = "--select-best") -> None:
    """A metric a runner logs each epoch (`val/...` or `train/...`), never the test split's."""
    if key.startswith("test/"):
        raise UserError(f"{flag} {key}: choosing an epoch on the test split leaks it into the result; "
                        f"use the validation metric ({'val/' + key[5:]})")
    if not key.startswith(("val/", "train/")):
        raise UserError(f"{flag} {key!r} is not an epoch metric; use val/<metric> or train/<metric>, "
                        f"e.g. val/acc or val/loss")


def monitored_metric(config) -> str | None:
    """The metric the controls of `config` watch: `select_best`, else `val/loss` when early
    stopping is on, else None (no watch)."""
    if config.select_best:
        return config.select_best
    return DEFAULT_MONITOR if config.early_stop else None


@dataclass
class EpochWatch:
    """Follows one metric over the epochs: the best epoch so far and the patience counter.

    Epochs are counted from 0, as the runners' loops count them; `best_epoch` and
    `stopped_epoch` in the run's metrics are these plus one, as the terminal counts epochs.
    """

    key: str
    patience: int | None = None  # None: never stop early
    min_delta: float = 0.0
    best_value: float | None = None
    best_epoch: int | None = None
    wait: int = 0  # epochs since the last improvement
    stopped_epoch: int | None = None

    def update(self, epoch: int, metrics: dict) -> bool:
        """Take epoch `epoch`'s metrics; True if it is the new best (restore its weights)."""
        if self.key not in metrics:
            raise UserError(f"the monitored metric {self.key} is not logged by this run "
                            f"(it logs {', '.join(sorted(metrics))}); pass --select-best with one of those")
        value = float(metrics[self.key])
        sign = 1.0 if higher_is_better(self.key) else -1.0
        improved = math.isfinite(value) and (
            self.best_value is None or sign * (value - self.best_value) > self.min_delta)
        if improved:
            self.best_value, self.best_epoch, self.wait = value, epoch, 0
        else:
            self.wait += 1
            if self.patience is not None and self.wait >= self.patience:
                self.stopped_epoch = epoch
        return improved

    @property
    def should_stop(self) -> bool:
        return self.stopped_epoch is not None

    def state(self) -> dict:
        """What a checkpoint keeps, so a resumed run counts patience on (JSON-able)."""
        return {"best_value": self.best_value, "best_epoch": self.best_epoch, "wait": self.wait}

    def load(self, state: dict) -> None:
        self.best_value, self.best_epoch, self.wait = state["best_value"], state["best_epoch"], state["wait"]

    def summary(self) -> dict:
        """The run's metrics about the watch: `best_epoch`, and `stopped_epoch` if it stopped."""
        done = {}
        if self.best_epoch is not None:
            done["best_epoch"] = self.best_epoch + 1
        if self.stopped_epoch is not None:
            done["stopped_epoch"] = self.stopped_epoch + 1
        return done


def make_watch(config) -> EpochWatch | None:
    """The watch a run of `config` needs, or None."""
    key = monitored_metric(config)
    if key is None:
        return None
    return EpochWatch(key, patience=config.early_stop, min_delta=config.min_delta)


def check_controls(config, task: str) -> None:
    """The controls of `config` checked against each other and the run (UserError: one line)."""
    if config.select_best:
        check_monitor(config.select_best)
    if config.early_stop is not None and (not isinstance(config.early_stop, int) or config.early_stop <= 0):
        raise UserError(f"--early-stop is a patience in epochs, a positive integer; got {config.early_stop}")
    if not isinstance(config.min_delta, (int, float)) or not 0 <= config.min_delta < float("inf"):
        raise UserError(f"--min-delta must be zero or positive, got {config.min_delta}")
    if config.min_delta and not config.early_stop:
        raise UserError("--min-delta applies to early stopping: add --early-stop PATIENCE")
    if config.grad_clip is not None:
        if not isinstance(config.grad_clip, (int, float)) or not config.grad_clip > 0:
            raise UserError(f"--grad-clip is a maximum gradient norm, a positive number; got {config.grad_clip}")
        if task == "generate":
            raise UserError("a GAN trains without gradient clipping; drop --grad-clip")
    if config.limit_batches is not None and (not isinstance(config.limit_batches, int) or config.limit_batches <= 0):
        raise UserError(f"--limit-batches must be a positive integer, got {config.limit_batches}")
    if config.init_weights:
        if config.framework == "numpy":
            raise UserError("--init-weights loads a torch state dict: use --framework torch or keras")
        if not Path(config.init_weights).is_file():
            raise UserError(f"--init-weights {config.init_weights}: no such file; pass a torchvision "
                            "state-dict file (torch.save(model.state_dict(), path))")
