"""Scoring GANs with the lab's own digit classifier (see `sample_quality.py` beside it)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments import image_plots
from experiments.tasks.generate import sample_quality

# generators output pixels in [0, 1] (tanh rescaled); the real images they are judged against too
NORMALIZE_INPUTS = False


def quality(judge, samples: np.ndarray, real_features: np.ndarray) -> dict[str, float]:
    """Frechet distance to the real features, class-mix entropy, confident fraction of `samples`."""
    probabilities = judge.probabilities(samples)
    return {"frechet_distance": sample_quality.frechet_distance(judge.features(samples), real_features),
            "class_entropy": sample_quality.class_entropy(probabilities),
            "confident_fraction": sample_quality.confident_fraction(probabilities)}


def evaluate(outputs: dict, datamodule) -> dict[str, float]:
    """Quality of the trained generator's samples against the test split, with references:
    the same numbers for the untrained generator (`..._untrained`, same noise) and for real
    train images (`..._real`: the floor a perfect generator would reach), and the judge's accuracy."""
    judge = sample_quality.judge_for(datamodule)
    test_features = judge.features(datamodule.splits["test"].x)
    trained = quality(judge, outputs["samples"], test_features)
    untrained = quality(judge, outputs["initial_samples"], test_features)
    real = quality(judge, datamodule.splits["train"].x, test_features)
    metrics = {f"test/{k}": v for k, v in trained.items()}
    metrics.update({f"test/{k}_untrained": v for k, v in untrained.items()})
    metrics.update({f"test/{k}_real": v for k, v in real.items()})
    metrics["test/fd_improvement"] = untrained["frechet_distance"] / max(trained["frechet_distance"], 1e-12)
    metrics["test/judge_acc"] = judge.test_acc
    return metrics


def epoch_artifacts(samples: np.ndarray, epoch: int, folder: Path, title: str) -> list[Path]:
    """The grid of this epoch's samples (the same noise every epoch)."""
    return [image_plots.save_image_grid(samples, f"{title}, epoch {epoch + 1}",
                                        folder / f"samples_epoch_{epoch + 1:03d}.png")]


def artifacts(outputs: dict, datamodule, history: list[dict], folder: Path, title: str) -> list[Path]:
    """Final samples, the untrained generator's samples, and the two losses per epoch."""
    return [image_plots.save_image_grid(outputs["samples"][:64], f"samples: {title}", folder / "samples.png"),
            image_plots.save_image_grid(outputs["initial_samples"][:64], f"untrained generator: {title}",
                                        folder / "samples_untrained.png"),
            image_plots.save_loss_curves(history, ["train/d_loss", "train/g_loss"], title,
                                         folder / "learning_curves.png")]
