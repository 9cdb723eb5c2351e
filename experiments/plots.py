"""Figures a run leaves as MLflow artifacts (matplotlib, no display needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, **kwargs):
    """pyplot's `subplots` without pyplot: a bare `matplotlib.figure.Figure` that no global state
    holds, so there is nothing to close (matplotlib's advice for servers:
    https://matplotlib.org/stable/gallery/user_interfaces/web_application_server_sgskip.html).
    Importing pyplot costs a run about 0.4 s more than the figure module alone."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def warm_up() -> None:
    """Import matplotlib and load its font by drawing a tiny figure: the first plot of a process
    costs about 0.2 s more than the next (a tracking process does this while the command trains)."""
    import io

    fig, ax = subplots(figsize=(1, 1))
    ax.set_title("0")
    fig.savefig(io.BytesIO(), format="png", dpi=10)


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (for Optuna's plots, which draw with it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    """Write a matplotlib figure as PNG atomically (readers never see half a file)."""
    from experiments.files import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, ".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return path


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (true class, predicted class)."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def plot_confusion_matrix(matrix: np.ndarray, title: str, path: Path) -> Path:
    """Save a confusion-matrix heat map with counts in the cells."""
    fig, ax = subplots(figsize=(5.5, 5))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                color="white" if count > matrix.max() / 2 else "black")
    ax.set(xlabel="predicted", ylabel="true", title=title,
           xticks=range(len(matrix)), yticks=range(len(matrix)))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_learning_curves(history: list[dict], title: str, path: Path) -> Path:
    """Save loss and accuracy per epoch, train and validation."""
    fig, axes = subplots(1, 2, figsize=(9, 3.5))
    epochs = np.arange(1, len(history) + 1)
    for ax, metric in zip(axes, ("loss", "acc")):
        for stage in ("train", "val"):
            values = [h.get(f"{stage}/{metric}", np.nan) for h in history]
            ax.plot(epochs, values, marker="o", label=stage)
        ax.set(xlabel="epoch", ylabel=metric)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
