"""Real image data offline: MNIST 5k (embedded), Fashion-MNIST's lookup order, `train_size`."""
from pathlib import Path

import numpy as np
import pytest
from test_datamodules import make_mnist_folder, rewrite_gzip

import datamodules
from datamodules import images
from modules.errors import DataError, UserError

SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")


def test_mnist_5k_test_split_is_fixed_and_stratified_whatever_the_split_seed_or_train_size():
    base = datamodules.create("mnist_5k", normalize=False)
    base.setup()
    assert [len(base.splits[s]) for s in ("train", "val", "test")] == [3600, 400, 1000]
    assert np.bincount(base.splits["test"].y).tolist() == [100] * 10
    other = datamodules.create("mnist_5k", normalize=False, split_seed=5, train_size=1000)
    other.setup()
    assert other.split_digest("test") == base.split_digest("test")
    assert other.split_digest("val") != base.split_digest("val")  # the split seed moves validation
    assert len(other.splits["train"]) == 1000


def test_train_size_is_a_stratified_seeded_subset_of_the_train_split():
    whole = datamodules.create("digits", normalize=False)
    whole.setup()
    small = datamodules.create("digits", normalize=False, train_size=100)
    small.setup()
    counts = np.bincount(small.splits["train"].y, minlength=10)
    assert counts.sum() == 100 and counts.min() >= 9 and counts.max() <= 11
    assert small.split_digest("val") == whole.split_digest("val")
    assert small.split_digest("test") == whole.split_digest("test")
    train_rows = {row.tobytes() for row in whole.splits["train"].x}
    assert all(row.tobytes() in train_rows for row in small.splits["train"].x)
    again = datamodules.create("digits", normalize=False, train_size=100)
    again.setup()
    assert again.digest == small.digest


@pytest.mark.parametrize("size", ["5", "1258"])
def test_train_size_outside_the_train_split_is_one_line(size):
    with pytest.raises(UserError, match=rf"train_size={size} must be between 10 .* and 1257"):
        datamodules.get_info("digits").with_options({"train_size": size})


def test_train_size_over_the_cli_exits_2(capsys):
    from experiments.cli import main

    assert main(["train", "--arch", "mlp", "--data", "digits", "--data-option", "train_size=99999"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "train_size=99999" in err


def test_fashion_mnist_is_found_in_the_system_packages_folder(lab_dir, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA_DIR", str(lab_dir / "data"))
    system = make_mnist_folder(lab_dir / "usr-share", n_train=30, n_test=20)
    monkeypatch.setattr(images.FashionMNISTDataModule, "system_folders", (str(system),))
    dm = datamodules.create("fashion_mnist")
    dm.prepare_data()  # finds the files: no download
    dm.setup()
    assert len(dm.splits["test"]) == 20
    make_mnist_folder(Path(dm._folders()[0]), n_train=60, n_test=40)  # data/raw/ comes first
    first = datamodules.create("fashion_mnist")
    first.setup()
    assert len(first.splits["test"]) == 40


def test_fashion_mnist_missing_everywhere_names_every_place_and_the_package(lab_dir, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA_DIR", str(lab_dir / "data"))
    monkeypatch.setattr(images.FashionMNISTDataModule, "system_folders", (str(lab_dir / "nowhere"),))

    def offline(torchvision_class, message):
        raise DataError(message + " (download failed: offline?)")

    monkeypatch.setattr(images, "download", offline)
    with pytest.raises(DataError) as err:
        datamodules.create("fashion_mnist").prepare_data()
    message = str(err.value)
    assert "\n" not in message
    for part in ("train-images-idx3-ubyte.gz", "FashionMNIST/raw", "nowhere", "--data-dir",
                 "apt-get install dataset-fashion-mnist", "offline"):
        assert part in message


def test_fashion_mnist_file_with_a_wrong_magic_number_is_named(lab_dir):
    folder = make_mnist_folder(lab_dir / "fm")
    rewrite_gzip(folder / "train-images-idx3-ubyte.gz", lambda data: b"\x00\x00\x77\x03" + data[4:])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: not an IDX file \(bad magic number\)"):
        datamodules.create("fashion_mnist", data_dir=folder).setup()


def test_truncated_fashion_mnist_file_is_named(lab_dir):
    folder = make_mnist_folder(lab_dir / "fm")
    rewrite_gzip(folder / "train-labels-idx1-ubyte.gz", lambda data: data[:-7])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: truncated or corrupt IDX"):
        datamodules.create("fashion_mnist", data_dir=folder).setup()


@pytest.mark.skipif(not (SYSTEM_FASHION / "t10k-labels-idx1-ubyte.gz").is_file(),
                    reason="apt-get install dataset-fashion-mnist to test the real set")
def test_real_fashion_mnist_loads_from_the_debian_package(lab_dir):
    dm = datamodules.create("fashion_mnist", train_size=1000)
    dm.prepare_data()
    dm.setup()
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [1000, 6000, 10000]
    assert np.bincount(dm.splits["test"].y).tolist() == [1000] * 10


def test_the_fashion_mnist_pipeline_runs_valid_train_commands():
    import shlex

    import yaml
    from conftest import ROOT

    from experiments.cli import build_parser
    from experiments.commands.train import plan_from_args

    pipeline = ROOT / "pipelines" / "fashion_mnist"
    stage = yaml.safe_load((pipeline / "dvc.yaml").read_text())["stages"]["train"]["do"]
    runs = yaml.safe_load((pipeline / "params.yaml").read_text())["runs"]
    parser, _ = build_parser()
    for key, item in runs.items():
        cmd = stage["cmd"].replace("${key}", key)
        for field, value in item.items():
            cmd = cmd.replace("${item.%s}" % field, str(value))
        argv = shlex.split(cmd)
        assert argv[0] == "nnlab" and "$" not in cmd
        plan = plan_from_args(parser.parse_args(argv[1:]))  # every recipe resolves: presets, --set values
        assert (plan.config.data, plan.config.framework, plan.config.seed) == (
            "fashion_mnist", item["framework"], item["seed"])
        assert f"{plan.config.framework}-{plan.config.arch}" == key.removesuffix(f"-seed{item['seed']}")
