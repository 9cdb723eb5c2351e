"""Sequence datasets: mnist1d (procedural, embedded)."""
from __future__ import annotations

import numpy as np

from datamodules.core import ArrayDataModule, Split, data_root
from modules.errors import DataError


class MNIST1DDataModule(ArrayDataModule):
    """mnist1d (Greydanus 2020): 4,000 train / 1,000 test sequences of length 40, 10 classes.

    Generated with the package's `make_dataset` and its default arguments (its
    `get_dataset` tries the network first), cached under `data/prepared/`.
    """

    name = "mnist1d"

    def _path(self):
        return (self.data_dir or data_root() / "prepared") / "mnist1d.npz"

    def prepare_data(self) -> None:
        path = self._path()
        if path.is_file():
            return
        from mnist1d.data import get_dataset_args, make_dataset

        data = make_dataset(get_dataset_args())
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, x=data["x"], y=data["y"], x_test=data["x_test"], y_test=data["y_test"])
        tmp.replace(path)  # never leave a half-written file behind

    def load_arrays(self) -> dict[str, Split]:
        self.prepare_data()
        try:
            with np.load(self._path()) as f:
                return {"train": Split(f["x"].astype(np.float32), f["y"].astype(np.int64)),
                        "test": Split(f["x_test"].astype(np.float32), f["y_test"].astype(np.int64))}
        except (OSError, KeyError, ValueError) as err:
            raise DataError(f"{self._path()}: corrupt ({err}); delete it to regenerate") from None
