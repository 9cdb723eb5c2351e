"""Shared datamodules: one seeded split, one normalisation, the same batches in both frameworks."""
import gzip
import pickle

import numpy as np
import pytest
from conftest import SHARED_MNIST

import datamodules
from datamodules.core import channels_last, epoch_order, seeded_split
from datamodules.formats import read_idx
from modules.errors import DataError, UserError


def test_digits_splits_are_seeded_disjoint_and_complete():
    dm = datamodules.create("digits", split_seed=3)
    dm.setup()
    sizes = [len(dm.splits[s]) for s in ("train", "val", "test")]
    assert sizes == [1257, 180, 360]
    again = datamodules.create("digits", split_seed=3)
    again.setup()
    assert again.digest == dm.digest
    other = datamodules.create("digits", split_seed=4)
    other.setup()
    assert other.digest != dm.digest


def test_seeded_split_partitions_the_indices():
    parts = seeded_split(100, (70, 10, 20), seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(100))


def test_normalisation_uses_the_train_split_only():
    dm = datamodules.create("digits")
    dm.setup()
    train = dm.splits["train"].x
    assert abs(train.mean()) < 1e-5 and abs(train.std() - 1) < 1e-3
    assert abs(dm.splits["test"].x.mean()) > 1e-4  # test statistics differ: not refitted


def test_image_size_resizes_digits():
    dm = datamodules.create("digits", image_size=32)
    dm.setup()
    assert dm.splits["train"].x.shape[1:] == (1, 32, 32)
    assert dm.input_shape == (1, 32, 32)


@pytest.mark.parametrize("size", [4, 13, 32, 227])
def test_numpy_resize_matches_torch_antialiased_bilinear(size):
    from datamodules.core import resize_images
    from modules import backend

    torch = backend.torch()
    x = np.random.default_rng(0).random((3, 2, 28, 20), dtype=np.float32)
    expected = torch.nn.functional.interpolate(torch.from_numpy(x), size=(size, size), mode="bilinear",
                                               align_corners=False, antialias=True).numpy()
    np.testing.assert_allclose(resize_images(x, size), expected, atol=2e-6)


def test_torch_and_keras_see_the_same_batches_in_the_same_order():
    dm = datamodules.create("digits", batch_size=100, seed=7)
    dm.setup()
    loader = dm.train_dataloader()
    torch_batches = []
    for epoch in range(2):
        loader.batch_sampler.set_epoch(epoch)
        torch_batches += [(x.numpy(), y.numpy()) for x, y in loader]
    keras_batches = [(x.numpy(), y.numpy()) for x, y in dm.keras_dataset("train", epochs=2)]
    assert len(torch_batches) == len(keras_batches) == 2 * 13
    for (xt, yt), (xk, yk) in zip(torch_batches, keras_batches):
        np.testing.assert_array_equal(yt, yk)
        np.testing.assert_array_equal(channels_last(xt), xk)
    assert not np.array_equal(torch_batches[0][1], torch_batches[13][1])  # reshuffled per epoch


def test_epoch_order_depends_on_seed_and_epoch():
    assert not np.array_equal(epoch_order(50, 0, 0), epoch_order(50, 0, 1))
    np.testing.assert_array_equal(epoch_order(50, 1, 2), epoch_order(50, 1, 2))


def test_mnist1d_is_the_packages_default_dataset():
    dm = datamodules.create("mnist1d")
    dm.prepare_data()
    dm.setup()
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [3600, 400, 1000]
    assert dm.splits["train"].x.shape[1:] == (40,)
    assert set(np.unique(dm.splits["test"].y)) == set(range(10))


def test_image_size_on_sequence_data_is_refused():
    with pytest.raises(UserError, match="applies to image data"):
        datamodules.create("mnist1d", image_size=32)


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(UserError, match="unknown dataset 'imagenet'; valid: cifar10, .*digits, .*mnist1d"):
        datamodules.get_info("imagenet")


# --- download datasets, on small files of the real formats ---------------------------

def write_idx(path, array: np.ndarray, compress: bool = True) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def rewrite_gzip(path, change) -> None:
    """Replace the gzipped file `path` by `change(its bytes)` (a corrupted copy)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    with gzip.open(path, "wb") as f:
        f.write(change(data))


def make_mnist_folder(folder, n_train=60, n_test=40, with_train=True):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    splits = {"t10k": n_test, **({"train": n_train} if with_train else {})}
    for prefix, n in splits.items():
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return folder


def test_mnist_reads_torchvisions_folder_layout(lab_dir, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA_DIR", str(lab_dir / "data"))
    make_mnist_folder(lab_dir / "data" / "raw" / "MNIST" / "raw")
    dm = datamodules.create("mnist")
    dm.prepare_data()
    dm.setup()
    assert len(dm.splits["test"]) == 40
    assert len(dm.splits["train"]) + len(dm.splits["val"]) == 60
    assert dm.splits["train"].x.shape[1:] == (1, 28, 28)


def test_mnist_splits_a_test_only_folder_with_a_seed(lab_dir):
    folder = make_mnist_folder(lab_dir / "only_test", n_test=100, with_train=False)
    dm = datamodules.create("mnist", data_dir=folder)
    dm.setup()
    assert sum(len(dm.splits[s]) for s in ("train", "val", "test")) == 100
    assert min(len(dm.splits[s]) for s in ("train", "val", "test")) > 0


def test_fashion_mnist_uses_the_same_reader(lab_dir):
    dm = datamodules.create("fashion_mnist", data_dir=make_mnist_folder(lab_dir / "fm"))
    dm.setup()
    assert len(dm.splits["test"]) == 40


def test_truncated_idx_file_is_named(lab_dir):
    folder = make_mnist_folder(lab_dir / "bad")
    rewrite_gzip(folder / "t10k-images-idx3-ubyte.gz", lambda data: data[:-100])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: truncated or corrupt IDX"):
        datamodules.create("mnist", data_dir=folder).setup()


def test_corrupt_gzip_is_named(lab_dir):
    folder = make_mnist_folder(lab_dir / "bad")
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: cannot read IDX"):
        read_idx(folder / "t10k-labels-idx1-ubyte.gz")


def test_missing_files_name_the_files_and_the_folder(lab_dir):
    with pytest.raises(DataError, match=r"files not found: train-images-idx3-ubyte.gz.* in .*empty"):
        datamodules.create("mnist", data_dir=lab_dir / "empty").prepare_data()


def write_cifar_batch(path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        pickle.dump({"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                     "labels": list(rng.integers(0, 10, n))}, f)


def test_cifar10_reads_python_batches(lab_dir):
    folder = lab_dir / "cifar"
    folder.mkdir()
    for i in range(1, 6):
        write_cifar_batch(folder / f"data_batch_{i}", 20, i)
    write_cifar_batch(folder / "test_batch", 30, 9)
    dm = datamodules.create("cifar10", data_dir=folder)
    dm.setup()
    assert len(dm.splits["test"]) == 30
    assert len(dm.splits["train"]) + len(dm.splits["val"]) == 100
    assert dm.splits["train"].x.shape[1:] == (3, 32, 32)


def test_cifar_batch_that_would_run_code_is_refused(lab_dir):
    folder = lab_dir / "cifar"
    folder.mkdir()
    marker = lab_dir / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({"data": Exploit(), "labels": [0]}, f)
    with pytest.raises(DataError, match="data_batch_1: truncated or corrupt CIFAR-10 batch"):
        datamodules.create("cifar10", data_dir=folder).setup()
    assert not marker.exists()


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="../shared/data/mnist is not here")
def test_real_mnist_test_split_loads_from_the_shared_folder():
    dm = datamodules.create("mnist", data_dir=SHARED_MNIST)
    dm.setup()
    assert sum(len(dm.splits[s]) for s in ("train", "val", "test")) == 10_000
