"""Figures of images for generative tasks: sample grids, reconstructions, latent spaces, losses."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.plots import subplots


def tile(images: np.ndarray, columns: int) -> np.ndarray:
    """(N, C, H, W) images in [0, 1] -> one (rows*(H+1)-1, columns*(W+1)-1[, C]) mosaic."""
    n, c, h, w = images.shape
    rows = -(-n // columns)
    gap = 0.0 if c == 1 else 1.0  # white gaps: grey images are shown with 1 as ink
    mosaic = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1, c), gap, np.float32)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        mosaic[r * (h + 1):r * (h + 1) + h, col * (w + 1):col * (w + 1) + w] = image.transpose(1, 2, 0)
    return mosaic[..., 0] if c == 1 else mosaic


def _show(ax, images: np.ndarray, columns: int) -> None:
    ax.imshow(np.clip(tile(images, columns), 0, 1), cmap="gray_r" if images.shape[1] == 1 else None,
              vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")


def save_image_grid(images: np.ndarray, title: str, path: Path, columns: int = 8) -> Path:
    """Save (N, C, H, W) images in [0, 1] as one grid."""
    fig, ax = subplots(figsize=(6, 6 * (-(-len(images) // columns)) / columns + 0.5))
    _show(ax, images, columns)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def save_reconstructions(inputs: np.ndarray, reconstructions: np.ndarray, title: str, path: Path,
                         columns: int = 8) -> Path:
    """Save inputs (top) above their reconstructions (bottom)."""
    fig, axes = subplots(2, 1, figsize=(6, 6 * 2 * (-(-len(inputs) // columns)) / columns + 0.8))
    for ax, images, name in zip(axes, (inputs, reconstructions), ("inputs", "reconstructions")):
        _show(ax, images, columns)
        ax.set_title(name, fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def principal_components(x: np.ndarray, k: int = 2) -> np.ndarray:
    """Project rows of `x` on their first `k` principal components (fewer columns: as they are)."""
    if x.shape[1] <= k:
        return x
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    return centred @ vt[:k].T


def save_latent_scatter(latent: np.ndarray, labels: np.ndarray, title: str, path: Path) -> Path:
    """Scatter the latent codes in 2-D (PCA if the code is longer), coloured by label."""
    points = principal_components(latent)
    if points.shape[1] == 1:
        points = np.column_stack([points[:, 0], np.zeros(len(points))])
    fig, ax = subplots(figsize=(5.5, 5))
    scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=8)
    ax.legend(*scatter.legend_elements(), title="label", fontsize=7, loc="best")
    axis = "PC" if latent.shape[1] > 2 else "z"
    ax.set(xlabel=f"{axis}1", ylabel=f"{axis}2", title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def save_loss_curves(history: list[dict], keys: list[str], title: str, path: Path) -> Path:
    """Plot each of `keys` (e.g. `train/d_loss`) per epoch."""
    fig, ax = subplots(figsize=(6, 3.5))
    epochs = np.arange(1, len(history) + 1)
    for key in keys:
        ax.plot(epochs, [h.get(key, np.nan) for h in history], marker="o", markersize=3, label=key)
    ax.set(xlabel="epoch", ylabel="loss", title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
