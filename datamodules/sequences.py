"""Sequence datasets: mnist1d (procedural, embedded)."""
from __future__ import annotations

import numpy as np

from datamodules.core import ArrayDataModule, Split, seeded_split
from modules.errors import UserError

# The paper's control permutes the 40 positions of every sequence with one permutation drawn
# from `np.random.seed(42)` (the repository's notebooks/mnist1d-classification.ipynb,
# https://github.com/greydanus/mnist1d): the same order here, so the shuffled set is the paper's.
SHUFFLE_SEED = 42


def shuffled_positions(length: int) -> np.ndarray:
    """The fixed permutation of `length` positions that `shuffle_positions=true` applies."""
    return np.random.RandomState(SHUFFLE_SEED).permutation(length)


class MNIST1DDataModule(ArrayDataModule):
    """mnist1d (Greydanus 2020): 4,000 train / 1,000 test sequences of length 40, 10 classes.

    Generated with the package's `make_dataset` and its default arguments (its
    `get_dataset` tries the network first), kept in `data/prepared/mnist1d.npz`.

    Options: `val_size` (how many of the 4,000 training sequences validate; 0 trains on all
    4,000, as the paper does, and then the validation split is the test split, which the paper
    also watched while training: monitoring only, never for choosing a model) and
    `shuffle_positions` (the paper's control: one fixed permutation of the positions, the same
    for every split; labels untouched).
    """

    name = "mnist1d"
    cache_prepared = True

    def __init__(self, val_size: int | None = None, shuffle_positions: bool | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        options = self.info.with_options({k: v for k, v in (("val_size", val_size),
                                                            ("shuffle_positions", shuffle_positions))
                                          if v is not None})
        self.val_size, self.shuffle_positions = options["val_size"], options["shuffle_positions"]
        n_pool = self.info.splits[0] + self.info.splits[1]
        if not 0 <= self.val_size < n_pool:
            raise UserError(f"mnist1d: val_size must be in [0, {n_pool - 1}], got {self.val_size}; "
                            f"0 trains on all {n_pool} (the paper's setting)")

    def load_arrays(self) -> dict[str, Split]:
        from mnist1d.data import get_dataset_args, make_dataset

        data = make_dataset(get_dataset_args())
        return {"train": Split(data["x"].astype(np.float32), data["y"].astype(np.int64)),
                "test": Split(data["x_test"].astype(np.float32), data["y_test"].astype(np.int64))}

    def _carve_validation(self, raw: dict[str, Split]) -> dict[str, Split]:
        """Shuffle positions if asked (every split alike), then hold `val_size` out of train."""
        if self.shuffle_positions:
            order = shuffled_positions(raw["train"].x.shape[-1])
            raw = {k: Split(s.x[..., order], s.y) for k, s in raw.items()}
        pool, test = raw["train"], raw["test"]
        if self.val_size == 0:  # the paper's setting: train on everything, watch the test split
            return {"train": pool, "val": test, "test": test}
        train_idx, val_idx = seeded_split(len(pool), (len(pool) - self.val_size, self.val_size),
                                          self.split_seed)
        return {"train": Split(pool.x[train_idx], pool.y[train_idx]),
                "val": Split(pool.x[val_idx], pool.y[val_idx]), "test": test}
