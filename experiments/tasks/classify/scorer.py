"""Scoring classifiers: cross-entropy and accuracy from logits, confusion matrix, curves."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments import plots


def cross_entropy_and_accuracy(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean softmax cross-entropy (float64, stable) and accuracy of `logits` against `y`."""
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean()), float((logits.argmax(axis=1) == y).mean())


def evaluate(outputs: np.ndarray, datamodule) -> dict[str, float]:
    """`test/loss` and `test/acc` of the test-split logits."""
    loss, acc = cross_entropy_and_accuracy(outputs, datamodule.splits["test"].y)
    return {"test/loss": loss, "test/acc": acc}


def artifacts(outputs: np.ndarray, datamodule, history: list[dict], folder: Path, title: str) -> list[Path]:
    """A confusion-matrix PNG and a learning-curve PNG."""
    return draw_plots(plot_payload(outputs, datamodule, history, title), folder)


def plot_payload(outputs: np.ndarray, datamodule, history: list[dict], title: str) -> dict:
    """What `draw_plots` needs, in plain values: a tracking process draws them from it
    (`experiments.tracking_process`), so the command does not import matplotlib."""
    y = datamodule.splits["test"].y
    return {"matrix": plots.confusion_matrix(y, outputs.argmax(axis=1), datamodule.num_classes),
            "history": history, "title": title}


def draw_plots(payload: dict, folder: Path) -> list[Path]:
    """The PNGs of `artifacts`, from its `plot_payload`."""
    return [plots.plot_confusion_matrix(payload["matrix"], payload["title"], folder / "confusion_matrix.png"),
            plots.plot_learning_curves(payload["history"], payload["title"], folder / "learning_curves.png")]
