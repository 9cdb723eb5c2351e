"""Data augmentation computed once, in NumPy, for both frameworks: the same augmented batches.

`--augment crop4,flip`: random crop with padding (the image shifted by up to N pixels each way,
the uncovered border filled with black, as torchvision's `RandomCrop(size, padding=N)` on
zero-padded pixels) and horizontal flip with probability 1/2 (He et al. 2015's CIFAR recipe).
Each sample's shift and flip in an epoch come from a generator seeded with (seed, epoch), indexed
by the sample's position in the train split, so the torch DataLoader and the tf.data pipeline
draw the same ones whatever order or batch a sample comes in. Training batches only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modules.errors import UserError

OPS = ("cropN", "flip")
_STREAM = 0xA06  # the generator's third seed word: augmentation draws, apart from `epoch_order`'s


@dataclass(frozen=True)
class Augmentation:
    """What `--augment` asks for: `crop_padding` pixels of random crop, and/or a horizontal flip."""

    crop_padding: int = 0
    flip: bool = False

    def __bool__(self) -> bool:
        return bool(self.crop_padding or self.flip)

    def describe(self) -> str:
        return ",".join(([f"crop{self.crop_padding}"] if self.crop_padding else []) + (["flip"] if self.flip else []))


def parse_augment(text: str | None, kind: str = "image", data: str = "") -> Augmentation:
    """`crop4,flip` -> Augmentation; an unknown operation, or any on non-image data: one line."""
    if not text:
        return Augmentation()
    crop, flip = 0, False
    for token in (t.strip() for t in text.split(",")):
        if token == "flip":
            flip = True
        elif token.startswith("crop") and token[4:].isdigit() and int(token[4:]) > 0:
            crop = int(token[4:])
        else:
            raise UserError(f"unknown augmentation {token!r} in --augment {text}; valid: crop<N> "
                            "(random crop with N pixels of padding, e.g. crop4), flip (horizontal)")
    if kind != "image":
        raise UserError(f"--augment {text} shifts and flips images; {data} is {kind} data: drop --augment")
    return Augmentation(crop, flip)


def epoch_draws(augmentation: Augmentation, n: int, seed: int, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """Every train sample's (dy, dx) shift and flip of one epoch: ((n, 2) ints, (n,) bools)."""
    rng = np.random.default_rng([seed, epoch, _STREAM])
    p = augmentation.crop_padding
    shifts = rng.integers(-p, p + 1, size=(n, 2)) if p else np.zeros((n, 2), np.int64)
    flips = rng.random(n) < 0.5 if augmentation.flip else np.zeros(n, bool)
    return shifts, flips


def augment_batch(x: np.ndarray, indices: np.ndarray, augmentation: Augmentation, n: int, seed: int,
                  epoch: int, fill: np.ndarray, channels_last: bool = False) -> np.ndarray:
    """Batch `x` (N, C, H, W), or (N, H, W, C) with `channels_last`, of train samples `indices`,
    shifted and flipped as epoch `epoch` draws them; `fill` is each channel's value of black."""
    if not augmentation:
        return x
    images = x.transpose(0, 3, 1, 2) if channels_last else x
    shifts, flips = epoch_draws(augmentation, n, seed, epoch)
    shifts, flips = shifts[indices], flips[indices]
    p = augmentation.crop_padding
    batch, channels, height, width = images.shape
    padded = np.empty((batch, channels, height + 2 * p, width + 2 * p), images.dtype)
    padded[:] = np.asarray(fill, images.dtype).reshape(1, -1, 1, 1)
    padded[:, :, p:p + height, p:p + width] = images
    out = np.empty_like(images)
    for i, (dy, dx) in enumerate(shifts):
        out[i] = padded[i, :, p + dy:p + dy + height, p + dx:p + dx + width]
    out[flips] = out[flips][..., ::-1]
    return np.ascontiguousarray(out.transpose(0, 2, 3, 1) if channels_last else out)
