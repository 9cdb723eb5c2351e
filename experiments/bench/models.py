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
    # epochs per measurement (the first is warm-up): a few seconds of steady training each,
    # as one short epoch alone swings widely on a shared machine
    epochs: int = 5


MODELS = {m.name: m for m in (
    BenchModel("lenet5", "lenet5", "digits", image_size=28, epochs=25),
    BenchModel("resnet20", "resnet20", "digits", image_size=32, epochs=4),
    BenchModel("gru", "gru", "mnist1d", epochs=10),
    BenchModel("mlp", "mlp", "mnist1d", epochs=10),
)}

# (lab path, hand-written floor): the pairs whose ratio the benchmark reports
PAIRS = (("lightning", "torch_loop"), ("keras_fit", "tf_loop"), ("keras_datamodule", "keras_tfdata"))
PATHS = tuple(p for pair in PAIRS for p in pair)
