"""Time series for forecasting: the yearly sunspot numbers and the Mackey-Glass series.

A series becomes samples by sliding a window over it: the input is `window`
consecutive values, shaped (window, 1), and the target the value right after.
Windows keep their order in time and the split is chronological: the first 70%
of windows train, the next 15% validate, the last 15% test, so every test
window lies after every training window. The series is standardised with the
mean and standard deviation of the stretch the training windows cover (inputs
and targets), never with values from the future.
"""
from __future__ import annotations

import numpy as np

from datamodules.core import SPLITS, ArrayDataModule, Split
from modules.errors import DataError, UserError

SPLIT_FRACTIONS = (0.70, 0.15)  # train, val; test takes the rest


def window_series(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (N, window, 1) and next-value targets (N, 1), N = len(series) - window, in time order."""
    n = len(series) - window
    index = np.arange(window)[None, :] + np.arange(n)[:, None]  # (N, window)
    return series[index][..., None], series[window:, None]


def chronological_sizes(n_windows: int) -> tuple[int, int, int]:
    """Train, val and test sizes of `n_windows` windows split in time order."""
    n_train, n_val = (int(n_windows * f) for f in SPLIT_FRACTIONS)
    return n_train, n_val, n_windows - n_train - n_val


def mackey_glass(length: int, tau: float = 17.0, beta: float = 0.2, gamma: float = 0.1, power: int = 10,
                 dt: float = 0.1, sample_every: int = 10, transient: int = 1000, x0: float = 1.2) -> np.ndarray:
    """`length` samples of the Mackey-Glass series dx/dt = beta x(t-tau) / (1 + x(t-tau)^power) - gamma x(t).

    Classical RK4 with step `dt` = 0.1 from a constant history x0 = 1.2; the delayed
    value at a half step is the mean of its two neighbouring history points. The
    series is sampled every `sample_every` steps (one time unit) and the first
    `transient` samples are discarded, so the result is deterministic and on the attractor.
    """
    lag = int(round(tau / dt))
    steps = (length + transient) * sample_every
    x = np.empty(lag + 1 + steps)
    x[:lag + 1] = x0

    def slope(now: float, delayed: float) -> float:
        return beta * delayed / (1.0 + delayed ** power) - gamma * now

    for i in range(lag, lag + steps):
        d0, d1 = x[i - lag], x[i - lag + 1]
        half = 0.5 * (d0 + d1)
        k1 = slope(x[i], d0)
        k2 = slope(x[i] + 0.5 * dt * k1, half)
        k3 = slope(x[i] + 0.5 * dt * k2, half)
        k4 = slope(x[i] + dt * k3, d1)
        x[i + 1] = x[i] + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x[lag + sample_every::sample_every][transient:transient + length]


class ForecastDataModule(ArrayDataModule):
    """A univariate series served as (window (T, 1), next value (1,)) float batches.

    Options: `window` (input length) and `horizon` (steps of free-running
    prediction the scorer makes from the first test window; it must fit in the test split).
    """

    target_dtype = np.float32

    def __init__(self, window: int | None = None, horizon: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        options = self.info.with_options({k: v for k, v in (("window", window), ("horizon", horizon))
                                          if v is not None})
        self.window, self.horizon = options["window"], options["horizon"]
        if self.window < 1 or self.horizon < 1:
            raise UserError(f"{self.name}: window and horizon must be at least 1, "
                            f"got window={self.window}, horizon={self.horizon}")
        self.mean = self.std = None  # the train stretch's statistics, set in `setup`
        self.check_sizes(self.series_length())  # bad options fail before any data is made

    def series(self) -> np.ndarray:
        """The whole series, in its own units, oldest first."""
        raise NotImplementedError

    def series_length(self) -> int:
        """How many values `series()` returns, known without making it."""
        raise NotImplementedError

    def check_sizes(self, series_length: int) -> None:
        """Raise UserError when the window or horizon do not fit the series."""
        n_windows = series_length - self.window
        if n_windows < 20:
            raise UserError(f"{self.name}: window {self.window} leaves {max(n_windows, 0)} windows of a "
                            f"{series_length}-step series; pass a smaller --data-option window")
        n_test = chronological_sizes(n_windows)[2]
        if self.horizon > n_test:
            raise UserError(f"{self.name}: forecast horizon {self.horizon} is longer than the test split "
                            f"({n_test} steps of a {series_length}-step series); pass "
                            f"--data-option horizon=N with N <= {n_test}")

    @property
    def input_shape(self) -> tuple:
        return (self.window, 1)

    def load_arrays(self) -> dict[str, Split]:
        series = np.asarray(self.series(), dtype=np.float64)
        if series.ndim != 1 or not np.all(np.isfinite(series)):
            raise DataError(f"{self.name}: the series must be 1-D and finite, got shape {series.shape}")
        x, y = window_series(series, self.window)
        return {"train": Split(x, y)}

    def _carve_validation(self, raw: dict[str, Split]) -> dict[str, Split]:
        """Split the windows in time order (never shuffled across time)."""
        pool = raw["train"]
        bounds = np.cumsum((0,) + chronological_sizes(len(pool)))
        return {k: Split(pool.x[a:b], pool.y[a:b]) for k, a, b in zip(SPLITS, bounds[:-1], bounds[1:])}

    def _standardize(self, raw: dict[str, Split]) -> dict[str, Split]:
        """Standardise inputs and targets with the statistics of the train stretch alone."""
        train = raw["train"]
        stretch = np.concatenate([train.x[0, :, 0], train.y[:, 0]])  # series[: n_train + window]
        self.mean, self.std = float(stretch.mean()), float(stretch.std()) + 1e-12
        return {k: Split(((s.x - self.mean) / self.std).astype(np.float32),
                         ((s.y - self.mean) / self.std).astype(np.float32)) for k, s in raw.items()}

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if self.mean is None:  # normalize=False: values stay in the series' own units
            self.mean, self.std = 0.0, 1.0

    def to_series_units(self, values: np.ndarray) -> np.ndarray:
        """Undo the standardisation: model outputs back in the series' own units."""
        return np.asarray(values, dtype=np.float64) * self.std + self.mean


class SunspotsDataModule(ForecastDataModule):
    """Yearly mean sunspot numbers 1700-2008 (309 values), bundled with statsmodels."""

    name = "sunspots"

    def series(self) -> np.ndarray:
        from statsmodels.datasets import sunspots

        return sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=np.float64)

    def series_length(self) -> int:
        return 309


class MackeyGlassDataModule(ForecastDataModule):
    """The Mackey-Glass series with tau = 17 (`mackey_glass`), `length` samples (option, default 4000)."""

    name = "mackey_glass"

    def __init__(self, length: int | None = None, **kwargs) -> None:
        self.length_option = length
        super().__init__(**kwargs)

    def series_length(self) -> int:
        given = {} if self.length_option is None else {"length": self.length_option}
        return self.info.with_options(given)["length"]

    def series(self) -> np.ndarray:
        return mackey_glass(self.series_length())
