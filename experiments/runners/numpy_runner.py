"""Train the from-scratch NumPy networks (`modules/<family>/numpy_net.py`) with SGD.

Same interface and same batches as the Lightning and Keras runners: the
datamodule's seeded split and per-epoch order (`datamodules.core.epoch_order`),
and the lab's metric keys (`train/loss`, `val/acc`, ...), so a NumPy run sits
next to the torch and Keras runs in MLflow and compares key for key.
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path

import numpy as np

from datamodules.core import epoch_order
from experiments.controls import make_watch
from experiments.runners import EpochCallback, FitResult, check_finite, epoch_line
from modules.toolkit.numpy_layers import count_parameters, softmax_cross_entropy
from modules.toolkit.numpy_optim import SGD, check_training


def build_network(arch, datamodule, config):
    """The NumPy twin of `arch` for `datamodule`'s shape, seeded with `config.seed`."""
    check_training(arch.name, config.optimizer)
    module = importlib.import_module(f"modules.{arch.module}.numpy_net")
    builder = getattr(module, arch.builder_name)
    return builder(datamodule.input_shape, datamodule.num_classes, seed=config.seed, **config.hparams)


def evaluate(network, x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[float, float, np.ndarray]:
    """(mean loss, accuracy, logits) of `network` over a whole split, dropout off."""
    logits = np.concatenate([network.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    loss, _ = softmax_cross_entropy(logits.astype(np.float64), y)
    return loss, float((logits.argmax(axis=1) == y).mean()), logits


def fit(arch, datamodule, config, on_epoch: EpochCallback, callbacks: list = (),
        on_epoch_outputs=None) -> FitResult:
    """Train `arch` on `datamodule`; `callbacks` are callables `(epoch, metrics)` (e.g. pruning).

    `on_epoch_outputs` is accepted for the runners' common interface; a classifier has none.
    """
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    # One BLAS thread: these matrices are small, and a multi-threaded BLAS on a busy
    # machine is many times slower per step (threads waiting on each other; docs/benchmarks.md).
    # A diverging run overflows to inf/nan: `check_finite` stops it at that epoch with one line,
    # so NumPy's own overflow warnings would only repeat it as noise on the terminal.
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        return _fit(arch, datamodule, config, on_epoch, callbacks)


def _fit(arch, datamodule, config, on_epoch: EpochCallback, callbacks: list) -> FitResult:
    network = build_network(arch, datamodule, config)
    optimizer = SGD(network.parameters(), config.lr, grad_clip=config.grad_clip)
    x_train, y_train = datamodule.arrays("train")
    x_val, y_val = datamodule.arrays("val")
    batch, history = datamodule.batch_size, []
    watch, best_weights = make_watch(config), None  # --select-best, --early-stop (experiments.controls)
    start = time.perf_counter()
    for epoch in range(config.epochs):
        order = epoch_order(len(x_train), datamodule.seed, epoch)  # the frameworks' batch order
        loss_sum = correct = 0.0
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            loss, logits, grads = network.loss_and_gradients(x_train[idx], y_train[idx], training=True)
            optimizer.step(grads)
            loss_sum += loss * len(idx)
            correct += float((logits.argmax(axis=1) == y_train[idx]).sum())
        val_loss, val_acc, _ = evaluate(network, x_val, y_val, batch)
        metrics = {"train/loss": loss_sum / len(order), "train/acc": correct / len(order),
                   "val/loss": val_loss, "val/acc": val_acc, "train/lr": config.lr}  # plain SGD: constant
        check_finite(epoch, metrics)
        history.append(metrics)
        on_epoch(epoch, metrics)
        for callback in callbacks:
            callback(epoch, metrics)
        if not config.quiet:
            print(epoch_line(epoch + 1, config.epochs, metrics), flush=True)
        if watch is not None:
            if watch.update(epoch, metrics) and config.select_best:
                best_weights = network.state_dict()
            if watch.should_stop:
                break
    train_time = time.perf_counter() - start
    if best_weights is not None:
        network.load_state_dict(best_weights)
    test_logits = None
    if config.score_test:
        x_test, y_test = datamodule.arrays("test")
        _, _, test_logits = evaluate(network, x_test, y_test, batch)
    return FitResult(model=network, n_params=count_parameters(network), train_time_s=train_time,
                     samples_seen=len(x_train) * len(history), test_outputs=test_logits, history=history,
                     controls=watch.summary() if watch is not None else {})


def save_model(network, folder: Path) -> Path:
    """Save the parameters as `.npz` under torch's state-dict names (loadable into the torch twin)."""
    path = folder / "model.npz"
    np.savez(path, **network.state_dict())
    return path
