"""The benchmark's models and data: what each path trains, on what."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchModel:
    """A registered architecture on data of the right shape, as the benchmark trains it."""

    name: str
    arch: str
    data: str
    image_size: int | None = None
    hparams: tuple = ()


MODELS = {m.name: m for m in (
    BenchModel("lenet5", "lenet5", "digits", image_size=28),
    BenchModel("resnet20", "resnet20", "digits", image_size=32),
    BenchModel("gru", "gru", "mnist1d"),
    BenchModel("mlp", "mlp", "mnist1d"),
)}

# (lab path, hand-written floor): the pairs whose ratio the benchmark reports
PAIRS = (("lightning", "torch_loop"), ("keras_fit", "tf_loop"), ("keras_datamodule", "keras_tfdata"))
PATHS = tuple(p for pair in PAIRS for p in pair)
