"""Judging generated images with a classifier the lab trains itself, once per dataset and size.

The judge is a small CNN trained on the train split of the same data the GAN sees (pixels in
[0, 1], the GAN's image size) and cached under `data_root()/models/`, so the samples of both
frameworks are scored by the very same network. It gives three numbers:
- the Frechet distance between real and generated samples in its penultimate-layer features
  (as FID does with Inception features; lower is better, 0 for identical distributions);
- the entropy of its predicted class mix over the samples (mode coverage; ln 10 = 2.30 when
  all ten digits are generated equally often, 0 when only one is);
- the fraction of samples it classifies with max softmax > 0.9 (recognisable digits).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.files import atomic_path
from modules import backend

CONFIDENT = 0.9  # max softmax above which a sample counts as recognisable
VERSION = 1  # bump when the judge's architecture or training changes: old caches are ignored
EPOCHS, BATCH, LR, SEED = 30, 64, 1e-3, 0
FEATURES = 128


def _network(input_shape: tuple, num_classes: int):
    """conv 32 -> pool -> conv 64 -> pool -> fc 128 (the features) -> classes."""
    nn = backend.torch().nn
    channels, height, width = input_shape
    flat = 64 * (height // 4) * (width // 4)
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(flat, FEATURES), nn.ReLU(),
        nn.Dropout(0.3), nn.Linear(FEATURES, num_classes))


def _shifted(x, generator):
    """Random shifts of up to one pixel (zero fill): a little augmentation against overfitting."""
    torch = backend.torch()
    dy, dx = (int(v) for v in torch.randint(-1, 2, (2,), generator=generator))
    out = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
    if dy:
        out[:, :, 0 if dy > 0 else -1, :] = 0
    if dx:
        out[:, :, :, 0 if dx > 0 else -1] = 0
    return out


class Judge:
    """The trained classifier: `features(x)` and `probabilities(x)` of (N, C, H, W) pixels in [0, 1]."""

    def __init__(self, network, test_acc: float) -> None:
        self.network, self.test_acc = network.eval(), test_acc

    def _run(self, x: np.ndarray, upto: int | None) -> np.ndarray:
        torch = backend.torch()
        with torch.inference_mode():
            out = [self.network[:upto](torch.from_numpy(np.ascontiguousarray(x[i:i + 512], np.float32)))
                   for i in range(0, len(x), 512)]
        return torch.cat(out).numpy().astype(np.float64)

    def features(self, x: np.ndarray) -> np.ndarray:
        return self._run(x, upto=-2)  # after the ReLU of fc 128, before dropout and the output

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        logits = self._run(x, upto=None)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def _train(datamodule) -> tuple[dict, float]:
    torch = backend.torch()
    train, test = datamodule.splits["train"], datamodule.splits["test"]
    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        network = _network(datamodule.input_shape, datamodule.num_classes)
        optimizer = torch.optim.Adam(network.parameters(), LR)
        x, y = torch.from_numpy(train.x), torch.from_numpy(train.y)
        generator = torch.Generator().manual_seed(SEED)
        for _ in range(EPOCHS):
            network.train()
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), BATCH):
                idx = order[start:start + BATCH]
                loss = torch.nn.functional.cross_entropy(network(_shifted(x[idx], generator)), y[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    judge = Judge(network, 0.0)
    test_acc = float((judge.probabilities(test.x).argmax(axis=1) == test.y).mean())
    return network.state_dict(), test_acc


def cache_path(datamodule) -> Path:
    """Where the judge of this data, split and image size is kept."""
    from datamodules.core import data_root

    c, h, w = datamodule.input_shape
    return (data_root() / "models" /
            f"judge_v{VERSION}_{datamodule.name}_{c}x{h}x{w}_{datamodule.digest[:12]}.pt")


def judge_for(datamodule) -> Judge:
    """The lab's classifier for `datamodule` (pixels in [0, 1]): loaded, or trained once and cached."""
    torch = backend.torch()
    path = cache_path(datamodule)
    if path.is_file():
        saved = torch.load(path, weights_only=True)
    else:
        state, test_acc = _train(datamodule)
        saved = {"state_dict": state, "test_acc": test_acc}
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, ".pt") as tmp:  # concurrent runs train the same (seeded) judge; the last write wins
            torch.save(saved, tmp)
    network = _network(datamodule.input_shape, datamodule.num_classes)
    network.load_state_dict(saved["state_dict"])
    return Judge(network, float(saved["test_acc"]))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to rows of `a` and `b`:
    |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^1/2)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root_a @ cov_b @ root_a  # symmetric PSD, same eigenvalues as S_a S_b
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def class_entropy(probabilities: np.ndarray) -> float:
    """Entropy (nats) of the predicted-class histogram: ln(classes) when every class is as frequent."""
    counts = np.bincount(probabilities.argmax(axis=1), minlength=probabilities.shape[1])
    p = counts[counts > 0] / counts.sum()
    return float(0.0 - (p * np.log(p)).sum())  # 0.0 - : no "-0.0" for a single class


def confident_fraction(probabilities: np.ndarray, threshold: float = CONFIDENT) -> float:
    """Fraction of samples whose top class has softmax probability above `threshold`."""
    return float((probabilities.max(axis=1) > threshold).mean())
