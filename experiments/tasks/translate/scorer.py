"""Scoring translations: exact match, per-character accuracy, accuracy by input length,
attention heat maps. Outputs are `pack_translations` arrays from either framework."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from datamodules.textgen import PAD, decode_chars
from experiments import plots
from modules.attention.spec import unpack_translations


def predictions(outputs: np.ndarray, datamodule) -> tuple[np.ndarray, np.ndarray]:
    """(greedy token ids (N, T_out), attention weights (N, T_out, T_in)) of the test split."""
    logits, weights = unpack_translations(outputs, datamodule.num_classes)
    return logits.argmax(axis=-1), weights


def accuracy_by_length(source: np.ndarray, target: np.ndarray, predicted: np.ndarray) -> dict:
    """{source length: {"n", "exact_match", "char_acc"}} over the lengths present."""
    lengths = (source != PAD).sum(axis=1)
    correct = predicted == target
    return {int(n): {"n": int((lengths == n).sum()),
                     "exact_match": float(correct[lengths == n].all(axis=1).mean()),
                     "char_acc": float(correct[lengths == n].mean())}
            for n in np.unique(lengths)}


def evaluate(outputs: np.ndarray, datamodule) -> dict[str, float]:
    """`test/exact_match` (whole sequence right), `test/char_acc` (per position), `test/loss`."""
    test = datamodule.splits["test"]
    logits, _ = unpack_translations(outputs, datamodule.num_classes)
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    target_log_probs = np.take_along_axis(log_probs, test.y[..., None], axis=-1)[..., 0]
    predicted = logits.argmax(axis=-1)
    return {"test/exact_match": float((predicted == test.y).all(axis=1).mean()),
            "test/char_acc": float((predicted == test.y).mean()),
            "test/loss": float(-target_log_probs[test.y != PAD].mean())}


def plot_accuracy_by_length(curves: dict[str, dict], title: str, path: Path) -> Path:
    """Exact match against source length, one line per labelled `accuracy_by_length` result."""
    fig, ax = plots.subplots(figsize=(6, 3.5))
    for label, by_length in curves.items():
        points = sorted((int(n), v["exact_match"]) for n, v in by_length.items())  # JSON keys are str
        ax.plot(*zip(*points), marker="o", label=label)
    ax.set(xlabel="input length (characters)", ylabel="exact match", ylim=(-0.02, 1.02), title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_attention(source: np.ndarray, predicted: np.ndarray, weights: np.ndarray, title: str,
                   path: Path, examples: int = 4) -> Path:
    """Heat maps of the attention weights of the first `examples` test sources."""
    fig, axes = plots.subplots(1, examples, figsize=(4 * examples, 3.2))
    for ax, src, out, w in zip(np.atleast_1d(axes), source, predicted, weights):
        text, result = decode_chars(src), decode_chars(out)
        ax.imshow(w[:, :len(text)], cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(text)), list(text), fontsize=7)
        ax.set_yticks(range(len(result)), list(result), fontsize=7)
        ax.set_xlabel("input")
    np.atleast_1d(axes)[0].set_ylabel("output")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def artifacts(outputs: np.ndarray, datamodule, history: list[dict], folder: Path, title: str) -> list[Path]:
    """Attention heat maps, accuracy by input length (PNG and JSON), learning curves."""
    test = datamodule.splits["test"]
    predicted, weights = predictions(outputs, datamodule)
    by_length = accuracy_by_length(test.x, test.y, predicted)
    (folder / "accuracy_by_length.json").write_text(json.dumps(by_length, indent=1))
    return [plot_attention(test.x, predicted, weights, title, folder / "attention.png"),
            plot_accuracy_by_length({title: by_length}, title, folder / "accuracy_by_length.png"),
            folder / "accuracy_by_length.json",
            plots.plot_learning_curves(history, title, folder / "learning_curves.png")]
