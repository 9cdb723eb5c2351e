"""Framework-free forecasting shared by the twin forecast tasks: the free run and the test outputs."""
from __future__ import annotations

from typing import Callable

import numpy as np


def free_run(predict_windows: Callable[[np.ndarray], np.ndarray], first_window: np.ndarray,
             horizon: int) -> np.ndarray:
    """Predict `horizon` steps from one window (T, 1), feeding each prediction back as input.

    `predict_windows` maps windows (N, T, 1) to one-step predictions (N, 1).
    """
    window, out = np.array(first_window, np.float32), []
    for _ in range(horizon):
        value = predict_windows(window[None])[0]
        out.append(value[0])
        window = np.concatenate([window[1:], value[None, :1]])
    return np.asarray(out, np.float32)


class FreeRunOutputs:
    """Mixed into both frameworks' `ForecastTask` (before their `LabTask`): from the task's
    `predict_windows` and `predict_split`, the free run and what the scorer receives."""

    def free_run(self, first_window: np.ndarray, horizon: int) -> np.ndarray:
        """Predict `horizon` steps from one window (T, 1), feeding each prediction back as input."""
        return free_run(self.predict_windows, first_window, horizon)

    def test_outputs(self, datamodule) -> dict:
        """One-step predictions on the test split and a free run of `datamodule.horizon` steps."""
        x = datamodule.splits["test"].x
        return {"one_step": self.predict_split(datamodule, "test"),
                "free_run": self.free_run(x[0], datamodule.horizon)}
