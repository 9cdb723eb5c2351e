"""Framework-free forecasting logic shared by the PyTorch and Keras forecast tasks."""
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
