"""Densely connected networks (Huang et al. 2017): DenseNet-121 and DenseNet-BC for small images.

One table (`DENSENETS`) holds every variant; `torch_net.py` and `keras_net.py` both read it.
Each dense layer is a bottleneck (BN-ReLU-1x1 conv to 4k channels, BN-ReLU-3x3
conv to k channels, k the growth rate) whose output is concatenated to its
input; each transition (BN-ReLU-1x1 conv-2x2 average pool) keeps half of the
channels (compression 0.5). The layer names follow torchvision's DenseNet, so
torchvision's `densenet121` weights fit the PyTorch network as they are.

Small images: `densenet121` with `small_input=True` (its default; the preset `paper`
has the ImageNet stem) replaces the 7x7 stride-2 stem and its max pool with one 3x3
stride-1 convolution. `densenet_bc40` is the paper's CIFAR DenseNet-BC (depth 40, k=12:
three dense blocks of (40-4)/6 = 6 layers, a 3x3 stem of 2k channels) and always has the
small stem.
"""
from __future__ import annotations

from dataclasses import dataclass

from modules.registry import Architecture, Param, register
from modules.resnet.spec import IMAGENET_STEM_STRIDE
from modules.toolkit.plans import check_input_size

PAPER = "Huang et al. 2017, https://arxiv.org/abs/1608.06993"
BOTTLENECK_FACTOR = 4  # the 1x1 convolution of a dense layer outputs 4k channels
COMPRESSION = 0.5  # a transition keeps this fraction of its input channels
CIFAR_SMALL_INPUT = True  # DenseNet-BC always has the small stem: not a hyperparameter


@dataclass(frozen=True)
class DenseNetSpec:
    """One DenseNet: growth rate, dense layers per block and stem width."""

    growth_rate: int  # k: channels each dense layer adds
    blocks: tuple[int, ...]  # dense layers per block; a transition follows every block but the last
    stem_width: int  # channels of the first convolution
    imagenet_stem: bool  # True: 7x7/2 conv + max pool unless small_input; False: always 3x3/1

    def block_channels(self) -> list[tuple[int, int]]:
        """(input channels, output channels after the transition) of every dense block.

        The last block has no transition: its second number is the classifier's width.
        """
        channels, width = [], self.stem_width
        for i, layers in enumerate(self.blocks):
            grown = width + layers * self.growth_rate
            width = int(grown * COMPRESSION) if i < len(self.blocks) - 1 else grown
            channels.append((grown - layers * self.growth_rate, width))
        return channels

    def total_stride(self, small_input: bool) -> int:
        """How much the network shrinks an image side before global pooling."""
        stem = IMAGENET_STEM_STRIDE if self.imagenet_stem and not small_input else 1
        return stem * 2 ** (len(self.blocks) - 1)


DENSENETS: dict[str, DenseNetSpec] = {
    "densenet121": DenseNetSpec(growth_rate=32, blocks=(6, 12, 24, 16), stem_width=64, imagenet_stem=True),
    "densenet_bc40": DenseNetSpec(growth_rate=12, blocks=(6, 6, 6), stem_width=24, imagenet_stem=False),
}


def check_densenet_input(name: str, input_shape: tuple, small_input: bool) -> None:
    """Each transition halves the map with a 2x2 pool: the last block must see at least 1x1."""
    spec = DENSENETS[name]
    setting = "" if small_input or not spec.imagenet_stem else " with small_input=false"
    check_input_size(name, input_shape, spec.total_stride(small_input), setting)


# One keyword row per entry, as every family's spec writes it: `duplicates` pairs these rows across
# families by their shape, which is the registry's data format, not repeated logic.
for _name, _spec in DENSENETS.items():
    register(Architecture(name=_name, task="classify", family="cnn", module="densenet",
                              default_data="mnist_5k",
        defaults={"small_input": True} if _spec.imagenet_stem else {},
        space={"small_input": Param("bool", choices=(True, False))} if _spec.imagenet_stem else {},
        presets={"paper": {"small_input": False}} if _spec.imagenet_stem else {},
        min_input_size=_spec.total_stride(small_input=True),
        default_image_size=32,
        # the paper divides the rate by 10 at 50% and 75% of training; cosine decay here (at a
        # constant rate densenet121's 3-epoch score moved with the host: docs/benchmarks.md)
        train_defaults={"densenet121": {"epochs": 3, "lr_schedule": "cosine"},
                        "densenet_bc40": {"epochs": 6, "lr_schedule": "cosine"}}[_name],
        paper=PAPER,
    ))
