"""Forecasting (Lightning). Twin of `keras_task.py` beside it.

Any network that maps a window (B, T, 1) to (B, 1) forecasts: trained on the
mean squared error of the next value. A network with `closed_form_readout`
(the echo state network) is trained instead by manual optimisation: the
training epoch collects reservoir states and targets, and the readout is
solved by ridge regression before validation runs.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from experiments.tasks.forecast.free_run import FreeRunOutputs
from experiments.tasks.torch_base import LabTask
from modules.reservoir.spec import RidgeAccumulator


class ForecastTask(FreeRunOutputs, LabTask):
    """Next-value regression: MSE loss; free-running prediction for the test outputs."""

    def __init__(self, network: torch.nn.Module, lr: float = 1e-3, optimizer: str = "adam",
                 lr_schedule: str = "constant", total_steps: int | None = None, **recipe) -> None:
        super().__init__(network, lr=lr, optimizer=optimizer, lr_schedule=lr_schedule, total_steps=total_steps,
                         **recipe)
        self.closed_form = bool(getattr(network, "closed_form_readout", False))
        if self.closed_form:
            self.automatic_optimization = False  # no gradient steps: one solve per epoch
            self.LR_KEYS = ()  # so no learning rate to log (the Keras twin has no optimizer)
            self.ridge_sums = RidgeAccumulator(network.ridge)
            self.readout_pending = False

    def _step(self, batch, stage: str) -> torch.Tensor | None:
        x, y = batch
        if self.closed_form and stage == "train":
            with torch.no_grad():
                self.ridge_sums.add(self.network.features(x).numpy(), y.numpy())
            self.readout_pending = True
            return None
        loss = F.mse_loss(self(x), y)
        self.epoch_means[stage].add(len(y), loss=loss)
        return loss

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        if self.closed_form:
            self.ridge_sums.reset()

    def solve_readout(self) -> None:
        """Fit the readout to the states collected this epoch (once), and record the train loss."""
        if not (self.closed_form and self.readout_pending):
            return
        weights, bias = self.ridge_sums.solve()
        self.network.set_readout(weights, bias)
        train_mse = torch.tensor(self.ridge_sums.mean_squared_error(weights, bias))
        self.epoch_means["train"].add(self.ridge_sums.count, loss=train_mse)
        self.readout_pending = False

    def on_validation_epoch_start(self) -> None:
        super().on_validation_epoch_start()
        self.solve_readout()  # Lightning validates before `on_train_epoch_end`

    def on_train_epoch_end(self) -> None:
        self.solve_readout()  # when there is no validation

    def predict_windows(self, x: np.ndarray) -> np.ndarray:
        """One-step predictions (N, 1) for windows (N, T, 1), in evaluation mode."""
        self.network.eval()
        with torch.inference_mode():
            return self.network(torch.from_numpy(np.ascontiguousarray(x, np.float32))).numpy()
