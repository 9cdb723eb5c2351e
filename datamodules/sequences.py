"""Sequence datasets: mnist1d (procedural, embedded)."""
from __future__ import annotations

import numpy as np

from datamodules.core import ArrayDataModule, Split


class MNIST1DDataModule(ArrayDataModule):
    """mnist1d (Greydanus 2020): 4,000 train / 1,000 test sequences of length 40, 10 classes.

    Generated with the package's `make_dataset` and its default arguments (its
    `get_dataset` tries the network first), kept in `data/prepared/mnist1d.npz`.
    """

    name = "mnist1d"
    cache_prepared = True

    def load_arrays(self) -> dict[str, Split]:
        from mnist1d.data import get_dataset_args, make_dataset

        data = make_dataset(get_dataset_args())
        return {"train": Split(data["x"].astype(np.float32), data["y"].astype(np.int64)),
                "test": Split(data["x_test"].astype(np.float32), data["y_test"].astype(np.int64))}
