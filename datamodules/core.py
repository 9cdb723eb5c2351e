"""The common core every dataset stands on: seeded splits over arrays, NumPy only.

The adapters serve them to PyTorch as a DataLoader (`datamodules.torch_batches`)
and to Keras as a tf.data pipeline (`datamodules.keras_batches`), batch for batch
the same; each is imported only by a run of its framework, so a Keras run loads
no torch and a torch run no TensorFlow.

Arrays are kept channels-first, as torch takes them; `channels_last` is the
one place images are turned into Keras's (N, H, W, C).
"""
from __future__ import annotations

import hashlib
import math
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datamodules import get_info
from datamodules.augment import augment_batch, parse_augment
from modules.errors import DataError, UserError

SPLITS = ("train", "val", "test")


def data_root() -> Path:
    """Where datasets live: `$NNLAB_DATA_DIR`, else `data/` under the working directory."""
    return Path(os.environ.get("NNLAB_DATA_DIR", "data"))


def channels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, H, W, C); other ranks pass through."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x.ndim == 4 else x


def seeded_split(n: int, sizes: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """Split range(n) into consecutive parts of `sizes` after a seeded shuffle."""
    if sum(sizes) > n:
        raise UserError(f"split sizes {sizes} need {sum(sizes)} samples, the data has {n}")
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.cumsum((0,) + tuple(sizes))
    return [np.sort(order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def stratified_subset(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted indices of `n` samples of labels `y`, each class in proportion to its share of `y`
    (at least one of each), chosen with a seeded shuffle."""
    classes, counts = np.unique(y, return_counts=True)
    quota = np.maximum(1, np.floor(counts * n / len(y)).astype(int))
    order = np.random.default_rng([seed, len(y), n]).permutation(len(y))
    by_remainder = np.argsort(-(counts * n / len(y) - np.floor(counts * n / len(y))), kind="stable")
    for i in by_remainder[:max(0, n - quota.sum())]:  # the rounding's remainder, largest shares first
        quota[i] += 1
    picked = [order[y[order] == c][:q] for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(picked))


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled sample order of one training epoch, the same in both frameworks."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def resize_weights(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out, n_in) matrix of antialiased bilinear resampling, the triangle filter widened
    by the scale when shrinking: torch's `interpolate(mode="bilinear", antialias=True)` (PIL's)."""
    scale = n_in / n_out
    support, inverse = (scale, 1 / scale) if scale >= 1 else (1.0, 1.0)
    weights = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = scale * (i + 0.5)
        lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), n_in)
        taps = np.clip(1 - np.abs((np.arange(lo, hi) - center + 0.5) * inverse), 0, None)
        weights[i, lo:hi] = taps / taps.sum()
    return weights


def resize_images(x: np.ndarray, size: int) -> np.ndarray:
    """Resize (N, C, H, W) images to `size` x `size` (bilinear, antialiased), in NumPy."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    rows, cols = resize_weights(x.shape[-2], size), resize_weights(x.shape[-1], size)
    return np.einsum("oh,nchw,pw->ncop", rows, x, cols, optimize=True).astype(x.dtype)


@dataclass
class Split:
    """Inputs and targets of one split."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


class EpochBatches:
    """Batches of indices in `epoch_order` (set `epoch` before each epoch).

    Under distributed training every rank takes its own strided share of the
    same order, so together the ranks see each sample once per epoch.
    """

    def __init__(self, n: int, batch_size: int, seed: int, shuffle: bool,
                 rank: int = 0, world_size: int = 1) -> None:
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def indices(self) -> np.ndarray:
        order = epoch_order(self.n, self.seed, self.epoch) if self.shuffle else np.arange(self.n)
        return order[self.rank::self.world_size]

    def __iter__(self):
        indices = self.indices()
        for start in range(0, len(indices), self.batch_size):
            yield indices[start:start + self.batch_size].tolist()

    def __len__(self) -> int:
        return math.ceil(len(range(self.rank, self.n, self.world_size)) / self.batch_size)


class ArrayDataModule:
    """A dataset held as arrays, split with a seed and normalised on its train split.

    Subclasses set `name` and implement `load_arrays`; `prepare_data` fetches or
    generates files and never touches state, `setup` reads them and splits.
    """

    name: str = ""

    def __init__(self, batch_size: int = 64, seed: int = 0, split_seed: int = 0,
                 image_size: int | None = None, data_dir: str | os.PathLike | None = None,
                 normalize: bool = True, train_size: int = 0, augment: str | None = None) -> None:
        if batch_size <= 0:
            raise UserError(f"batch size must be a positive integer, got {batch_size}")
        self.info = get_info(self.name)
        if image_size is not None and self.info.kind != "image":
            raise UserError(f"--image-size applies to image data; {self.name} is {self.info.kind} data")
        if image_size is not None and image_size <= 0:
            raise UserError(f"image size must be a positive integer, got {image_size}")
        self.batch_size, self.seed, self.split_seed = batch_size, seed, split_seed
        self.image_size, self.normalize, self.train_size = image_size, normalize, train_size
        self.augmentation = parse_augment(augment, self.info.kind, self.name)
        self.black = np.zeros(1, np.float32)  # each channel's value of a black pixel, as served
        self.data_dir = Path(data_dir) if data_dir else None
        self.splits: dict[str, Split] = {}
        self.digest = self.source_digest = ""
        self.world_size, self.rank = 1, 0

    # Save the raw arrays under data/prepared/<name>.npz in `prepare_data` and read them
    # from there in `setup`: the versioned file the DVC pipeline's `prepare` stage writes.
    cache_prepared: bool = False
    # what targets are served as: class indices by default; forecasting data serves floats
    target_dtype: type = np.int64

    # --- to implement --------------------------------------------------------
    def load_arrays(self) -> dict[str, Split]:
        """Return the raw splits: at least "train" (and "test" where the data defines one)."""
        raise NotImplementedError

    def fetch(self) -> None:
        """Download or generate the source files `load_arrays` reads (default: nothing)."""

    # --- prepared files --------------------------------------------------------
    def prepared_path(self) -> Path | None:
        """Where the raw arrays are kept, or None (not cached, or a user's --data-dir)."""
        if not self.cache_prepared or self.data_dir is not None:
            return None
        return data_root() / "prepared" / f"{self.name}.npz"

    def prepare_data(self, force: bool = False) -> None:
        """Fetch the source files and, for cached datasets, write the prepared file."""
        self.fetch()
        path = self.prepared_path()
        if path is None or (path.is_file() and not force):
            return
        raw = self.load_arrays()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp.npz")
        try:
            np.savez(tmp, **{f"{k}_{part}": getattr(s, part) for k, s in raw.items() for part in ("x", "y")})
            tmp.replace(path)  # readers never see a half-written file
        except OSError as err:  # e.g. a full disk: one line, no half-written temporary left
            raise DataError(f"cannot write {path}: {err.strerror}; free space in {path.parent}/ "
                            f"and run `nnlab prepare --data {self.name}` again") from None
        finally:
            tmp.unlink(missing_ok=True)

    def _read_prepared(self, path: Path) -> dict[str, Split]:
        try:
            with np.load(path) as f:
                names = {key.rsplit("_", 1)[0] for key in f.files}
                return {k: Split(f[f"{k}_x"], f[f"{k}_y"]) for k in names}
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            # e.g. truncated by a full disk or a killed copy (np.savez writes a zip)
            raise DataError(f"{path}: corrupt prepared file ({type(err).__name__}); delete it, or run "
                            f"`nnlab prepare --data {self.name} --force` (or `dvc repro`)") from None

    # --- shape ----------------------------------------------------------------
    @property
    def input_shape(self) -> tuple:
        """One sample's shape, channels-first (as both frameworks' builders take it)."""
        if self.info.kind == "image" and self.image_size:
            return (self.info.shape[0], self.image_size, self.image_size)
        return self.info.shape

    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    # --- the datamodule hooks --------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        path = self.prepared_path()
        raw = self._read_prepared(path) if path is not None and path.is_file() else self.load_arrays()
        self.source_digest = self._digest_of(raw)
        raw = self._carve_validation(raw)
        if self.train_size:
            raw = self._subsample_train(raw)
        if self.info.kind == "image" and self.image_size:
            raw = {k: Split(resize_images(s.x, self.image_size), s.y) for k, s in raw.items()}
        if self.normalize:
            mean, std = self._channel_stats(raw["train"].x)
            self.black = (-mean / std).reshape(-1).astype(np.float32)
            raw = self._standardize(raw)
        self.splits = {k: Split(np.ascontiguousarray(s.x, np.float32), s.y.astype(self.target_dtype))
                       for k, s in raw.items()}
        self.digest = self._digest()

    def _carve_validation(self, raw: dict[str, Split]) -> dict[str, Split]:
        """Make train/val/test from what the files hold, with `split_seed`."""
        n_train, n_val, n_test = self.info.splits
        pool = raw["train"]
        if "test" in raw:
            if len(pool) < n_train + n_val:  # a smaller file set: keep the proportion
                n_val = max(1, round(len(pool) * n_val / (n_train + n_val)))
            train_idx, val_idx = seeded_split(len(pool), (len(pool) - n_val, n_val), self.split_seed)
            return {"train": Split(pool.x[train_idx], pool.y[train_idx]),
                    "val": Split(pool.x[val_idx], pool.y[val_idx]), "test": raw["test"]}
        if len(pool) < n_train + n_val + n_test:  # a smaller file set: keep the proportions
            total = n_train + n_val + n_test
            n_val, n_test = round(len(pool) * n_val / total), round(len(pool) * n_test / total)
            n_train = len(pool) - n_val - n_test
        parts = seeded_split(len(pool), (n_train, n_val, n_test), self.split_seed)
        return {k: Split(pool.x[i], pool.y[i]) for k, i in zip(SPLITS, parts)}

    def _subsample_train(self, raw: dict[str, Split]) -> dict[str, Split]:
        """`train_size` samples of the train split (stratified, with `split_seed`); val and test stay."""
        from datamodules import check_train_size

        pool = raw["train"]
        check_train_size(self.train_size, len(pool), len(np.unique(pool.y)), self.name)
        keep = stratified_subset(pool.y, self.train_size, self.split_seed)
        return {**raw, "train": Split(pool.x[keep], pool.y[keep])}

    @staticmethod
    def _channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation per channel (over everything for non-images), broadcastable."""
        x = x.astype(np.float64)
        axes = (0, 2, 3) if x.ndim == 4 else tuple(range(x.ndim))
        return x.mean(axis=axes, keepdims=True)[:1], x.std(axis=axes, keepdims=True)[:1] + 1e-8

    @classmethod
    def _standardize(cls, raw: dict[str, Split]) -> dict[str, Split]:
        """Zero mean, unit variance per channel, from the train split alone."""
        mean, std = cls._channel_stats(raw["train"].x)
        return {k: Split(((s.x - mean) / std).astype(np.float32), s.y) for k, s in raw.items()}

    def _digest(self) -> str:
        return self._digest_of(self.splits)

    def split_digest(self, split: str) -> str:
        """The content hash of one split (e.g. "test": the same whatever a refit merges)."""
        return self._digest_of({split: self.splits[split]})

    @staticmethod
    def _digest_of(splits: dict[str, Split]) -> str:
        """A short content hash of split arrays (names, shapes, dtypes and bytes)."""
        h = hashlib.sha256()
        for key in sorted(splits):
            for array in (splits[key].x, splits[key].y):
                h.update(f"{key}{array.shape}{array.dtype}".encode())
                h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()[:16]

    def augmented(self, x: np.ndarray, indices: np.ndarray, epoch: int, channels_last: bool = False) -> np.ndarray:
        """Training batch `x` of train samples `indices` as `--augment` changes it in `epoch`."""
        return augment_batch(x, indices, self.augmentation, len(self.splits["train"]), self.seed, epoch,
                             self.black, channels_last)

    # --- PyTorch (the adapter imports torch) ----------------------------------------
    def train_dataloader(self):
        from datamodules.torch_batches import loader

        return loader(self, "train", shuffle=True)

    def val_dataloader(self):
        from datamodules.torch_batches import loader

        return loader(self, "val", shuffle=False)

    def test_dataloader(self):
        from datamodules.torch_batches import loader

        return loader(self, "test", shuffle=False)

    # --- both frameworks ------------------------------------------------------------------
    def arrays(self, split: str, layout: str = "channels_first") -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of `split`; `layout="channels_last"` for Keras."""
        self.setup()
        data = self.splits[split]
        return (channels_last(data.x) if layout == "channels_last" else data.x), data.y

    def keep_batches(self, n: int) -> None:
        """Keep the first `n` batches' worth of every split (`--limit-batches`, `--fast-dev-run`),
        so each epoch, both frameworks and the scorer see the same few samples."""
        keep = n * self.batch_size
        self.splits = {k: Split(s.x[:keep], s.y[:keep]) for k, s in self.splits.items()}
        self.digest = self._digest()

    def steps_per_epoch(self, split: str = "train") -> int:
        """Batches per epoch; under distributed training the train split's count is a rank's share
        (the smallest, so that every rank takes the same number of steps)."""
        self.setup()
        n = len(self.splits[split])
        if split == "train" and self.world_size > 1:
            n = len(range(self.world_size - 1, n, self.world_size))
        return math.ceil(n / self.batch_size)

    def batch_arrays(self, split: str, layout: str = "channels_first"):
        """What a batch of `split` holds, as arrays indexed by sample: `(x, y)` by default."""
        return self.arrays(split, layout=layout)

    def keras_dataset(self, split: str, epochs: int = 1, first_epoch: int = 0):
        """A tf.data pipeline of `split` yielding the same batches as the DataLoader
        (`datamodules.keras_batches.dataset`, which imports TensorFlow)."""
        from datamodules.keras_batches import dataset

        return dataset(self, split, epochs=epochs, first_epoch=first_epoch)
