"""Scoring autoencoders: reconstruction loss against a mean-image baseline, and figures."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments import image_plots

# reconstruction is scored on pixels in [0, 1] (a sigmoid output, BCE), not standardised ones
NORMALIZE_INPUTS = False
N_SHOWN = 16  # test images shown with their reconstructions


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def binary_cross_entropy(reconstruction: np.ndarray, target: np.ndarray) -> float:
    """Mean BCE of probabilities against targets in [0, 1], logs clamped at -100 as torch does."""
    p = reconstruction.astype(np.float64)
    with np.errstate(divide="ignore"):
        log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
    return float(-np.mean(target * log_p + (1 - target) * log_q))


def evaluate(outputs: dict, datamodule) -> dict[str, float]:
    """`test/recon_loss` (the training loss, MSE or BCE), `test/mse`, and the mean-image baseline:
    `test/mse_mean_image` (predict the train split's mean image) and `test/mse_improvement` (its ratio)."""
    x = datamodule.splits["test"].x
    reconstruction = outputs["reconstruction"]
    error = mse(reconstruction, x)
    baseline = mse(np.broadcast_to(datamodule.splits["train"].x.mean(axis=0), x.shape), x)
    loss = error if outputs["loss"] == "mse" else binary_cross_entropy(reconstruction, x)
    return {"test/recon_loss": loss, "test/mse": error, "test/mse_mean_image": baseline,
            "test/mse_improvement": baseline / max(error, 1e-12)}


def artifacts(outputs: dict, datamodule, history: list[dict], folder: Path, title: str) -> list[Path]:
    """Test inputs above their reconstructions, the latent space by label, the loss curves."""
    test = datamodule.splits["test"]
    return [image_plots.save_reconstructions(test.x[:N_SHOWN], outputs["reconstruction"][:N_SHOWN],
                                             title, folder / "reconstructions.png"),
            image_plots.save_latent_scatter(outputs["latent"], test.y, f"latent space: {title}",
                                            folder / "latent_space.png"),
            image_plots.save_loss_curves(history, ["train/loss", "val/loss"], title,
                                         folder / "learning_curves.png")]
