"""Scoring forecasters: RMSE and NRMSE one step ahead and free-running, and their plots.

The outputs of either framework's forecast task are {"one_step": (N, 1),
"free_run": (H,)} in standardised units; both are scored in the series' own
units. NRMSE is the RMSE divided by the standard deviation of the values it
predicts, so 0 is perfect and 1 is no better than predicting their mean. Beside the
network's one-step NRMSE stands the persistence baseline's (`test/persistence_nrmse`:
each window's last value predicts the next), the bar a forecaster must clear.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments import plots


def rmse(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Root mean squared error, in float64."""
    diff = np.asarray(prediction, np.float64).ravel() - np.asarray(truth, np.float64).ravel()
    return float(np.sqrt(np.mean(diff ** 2)))


def nrmse(prediction: np.ndarray, truth: np.ndarray) -> float:
    """RMSE divided by the standard deviation of `truth`."""
    return rmse(prediction, truth) / max(float(np.std(np.asarray(truth, np.float64))), 1e-12)


def persistence_nrmse(datamodule) -> float:
    """NRMSE on the test split of predicting each window's last value as the next one."""
    test = datamodule.splits["test"]
    return nrmse(datamodule.to_series_units(test.x[:, -1, 0]), datamodule.to_series_units(test.y[:, 0]))


def _in_units(outputs: dict, datamodule) -> dict[str, np.ndarray]:
    """Predictions and truths, one step and free-running, in the series' own units."""
    y = datamodule.splits["test"].y[:, 0]
    free = np.asarray(outputs["free_run"]).ravel()
    to_units = datamodule.to_series_units
    return {"one_step": to_units(np.asarray(outputs["one_step"]).ravel()), "truth": to_units(y),
            "free_run": to_units(free), "free_truth": to_units(y[:len(free)])}


def evaluate(outputs: dict, datamodule) -> dict[str, float]:
    """`test/loss` (MSE, standardised), `test/rmse` (series units), `test/nrmse` and beside it
    `test/persistence_nrmse` (`persistence_nrmse`), `test/free_run_nrmse`."""
    v = _in_units(outputs, datamodule)
    standardised = (v["one_step"] - v["truth"]) / datamodule.std
    return {"test/loss": float(np.mean(standardised ** 2)), "test/rmse": rmse(v["one_step"], v["truth"]),
            "test/nrmse": nrmse(v["one_step"], v["truth"]), "test/persistence_nrmse": persistence_nrmse(datamodule),
            "test/free_run_nrmse": nrmse(v["free_run"], v["free_truth"])}


def plot_forecast(values: dict[str, np.ndarray], title: str, path: Path) -> Path:
    """Save prediction vs truth over the test split, and the free run vs truth."""
    fig, (one, free) = plots.subplots(2, 1, figsize=(10, 6))
    steps = np.arange(len(values["truth"]))
    one.plot(steps, values["truth"], color="black", lw=1.2, label="truth")
    one.plot(steps, values["one_step"], color="tab:orange", lw=1, ls="--", label="one step ahead")
    one.set(title="test split, one step ahead", xlabel="step", ylabel="value")
    one.legend(loc="upper right")
    horizon = np.arange(len(values["free_run"]))
    free.plot(horizon, values["free_truth"], color="black", lw=1.2, label="truth")
    free.plot(horizon, values["free_run"], color="tab:blue", lw=1, ls="--", label="free run (fed back)")
    free.set(title=f"free-running prediction, {len(horizon)} steps from the first test window",
             xlabel="steps ahead", ylabel="value")
    free.legend(loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_loss_curves(history: list[dict], title: str, path: Path) -> Path:
    """Save the training and validation loss (MSE) per epoch."""
    fig, ax = plots.subplots(figsize=(5, 3.5))
    epochs = np.arange(1, len(history) + 1)
    for stage in ("train", "val"):
        ax.plot(epochs, [h.get(f"{stage}/loss", np.nan) for h in history], marker="o", label=stage)
    ax.set(xlabel="epoch", ylabel="MSE (standardised)", yscale="log", title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def artifacts(outputs: dict, datamodule, history: list[dict], folder: Path, title: str) -> list[Path]:
    """A prediction-vs-truth PNG (one step and free run) and a loss-curve PNG."""
    return [plot_forecast(_in_units(outputs, datamodule), title, Path(folder) / "forecast.png"),
            plot_loss_curves(history, title, Path(folder) / "learning_curves.png")]
