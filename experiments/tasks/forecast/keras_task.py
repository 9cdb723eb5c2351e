"""Forecasting (Keras). Twin of `torch_task.py` beside it.

Any network that maps a window (B, T, 1) to (B, 1) forecasts: compiled with
the mean squared error of the next value. A network with `closed_form_readout`
(the echo state network) is trained by `RidgeReadoutFit.fit` instead, a custom
fit path: one pass over the training batches collects reservoir states, the
readout is solved by ridge regression, then validation runs and the callbacks
hear of the epoch under Keras's usual log names.
"""
from __future__ import annotations

import keras
import numpy as np

from experiments.tasks.forecast.free_run import FreeRunOutputs
from experiments.tasks.keras_base import LabTask
from modules.reservoir.keras_net import features_model, set_readout
from modules.reservoir.spec import RidgeAccumulator


class RidgeReadoutFit:
    """What `fit` trains for a closed-form readout: `fit(...)` with Keras's arguments."""

    def __init__(self, network: keras.Model) -> None:
        self.network = network
        self.features = features_model(network)
        self.ridge_sums = RidgeAccumulator(network.ridge)

    def _mse(self, dataset) -> float:
        total, count = 0.0, 0
        for x, y in dataset:
            pred = np.asarray(self.network(x, training=False), np.float64)
            total += float(((pred - np.asarray(y, np.float64)) ** 2).sum())
            count += pred.size
        return total / max(count, 1)

    def fit(self, dataset, epochs: int = 1, steps_per_epoch: int | None = None, validation_data=None,
            callbacks=(), verbose: int = 0, **unused):
        """Solve the readout once per epoch; report `loss` (and `val_loss`) to `callbacks`."""
        hooks = keras.callbacks.CallbackList(list(callbacks), model=self.network)
        batches = iter(dataset)
        hooks.on_train_begin()
        for epoch in range(epochs):
            hooks.on_epoch_begin(epoch)
            self.ridge_sums.reset()
            for _ in range(steps_per_epoch):
                x, y = next(batches)
                self.ridge_sums.add(np.asarray(self.features(x, training=False)), np.asarray(y))
            weights, bias = self.ridge_sums.solve()
            set_readout(self.network, weights, bias)
            logs = {"loss": self.ridge_sums.mean_squared_error(weights, bias)}
            if validation_data is not None:
                logs["val_loss"] = self._mse(validation_data)
            if verbose:
                print(f"epoch {epoch + 1}/{epochs}: " + "  ".join(f"{k} {v:.3g}" for k, v in logs.items()))
            hooks.on_epoch_end(epoch, logs)
            if getattr(self.network, "stop_training", False):  # e.g. early stopping, as Keras's fit
                break
        hooks.on_train_end()


class ForecastTask(FreeRunOutputs, LabTask):
    """Next-value regression: MSE loss; free-running prediction for the test outputs."""

    def compile(self, network: keras.Model):
        if getattr(network, "closed_form_readout", False):
            return RidgeReadoutFit(network)
        network.compile(optimizer=self.make_optimizer(), loss=keras.losses.MeanSquaredError())
        return network

    def predict_windows(self, x: np.ndarray) -> np.ndarray:
        """One-step predictions (N, 1) for windows (N, T, 1)."""
        return np.asarray(self.network(np.ascontiguousarray(x, np.float32), training=False))
