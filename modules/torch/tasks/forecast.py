"""Forecasting (Lightning). Mirrors `modules/keras/tasks/forecast.py`.

Any network that maps a window (B, T, 1) to (B, 1) forecasts: trained on the
mean squared error of the next value. A network with `closed_form_readout`
(the echo state network) is trained instead by manual optimisation: the
training epoch collects reservoir states and targets, and the readout is
solved by ridge regression before validation runs.
"""
from __future__ import annotations

import numpy as np

from modules.forecasting import free_run
import torch
import torch.nn.functional as F

from modules.reservoir.spec import RidgeAccumulator
from modules.torch.tasks.base import LabTask


class ForecastTask(LabTask):
    """Next-value regression: MSE loss; free-running prediction for the test outputs."""

    def __init__(self, network: torch.nn.Module, lr: float = 1e-3, optimizer: str = "adam",
                 lr_schedule: str = "constant", total_steps: int | None = None) -> None:
        super().__init__(network, lr=lr, optimizer=optimizer, lr_schedule=lr_schedule, total_steps=total_steps)
        self.closed_form = bool(getattr(network, "closed_form_readout", False))
        if self.closed_form:
            self.automatic_optimization = False  # no gradient steps: one solve per epoch
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

    def free_run(self, first_window: np.ndarray, horizon: int) -> np.ndarray:
        """Predict `horizon` steps from one window (T, 1), feeding each prediction back as input."""
        return free_run(self.predict_windows, first_window, horizon)

    def test_outputs(self, datamodule) -> dict:
        """One-step predictions on the test split and a free run of `datamodule.horizon` steps."""
        x = datamodule.splits["test"].x
        return {"one_step": self.predict_split(datamodule, "test"),
                "free_run": self.free_run(x[0], datamodule.horizon)}
