"""Residual networks (He et al. 2015): ImageNet ResNets and the paper's CIFAR ResNets.

One table (`RESNETS`) holds every variant; `torch_net.py` and `keras_net.py` both read
it, so the two frameworks cannot drift.

Choices stated where the paper leaves room:
- ImageNet ResNets follow torchvision ("ResNet v1.5"): in a bottleneck block the
  stride sits on the 3x3 convolution, not the first 1x1 as in the paper; shortcuts
  are identities except where the shape changes, where a 1x1 convolution + BN
  projects (the paper's option B).
- CIFAR ResNets (paper section 4.2) use option A by default: the shortcut
  subsamples with stride 2 and zero-pads the new channels (no parameters);
  `shortcut="projection"` gives option B instead.
- Small images: `small_input=True` swaps the 7x7 stride-2 stem and its max pool
  for one 3x3 stride-1 convolution (as the paper's CIFAR nets start), so a 32x32
  digit keeps its resolution into the first stage. The rest is unchanged.
- `residual_gamma` is the initial scale (BN gamma) of the last batch norm in every
  residual branch: 1.0 as in the paper and torchvision (the ImageNet nets' default),
  0.0 would be Goyal et al. 2017's zero init. The CIFAR nets start at 0.1: with 1.0,
  a fresh 56-layer net in evaluation mode (running statistics 0/1, so BN does not
  normalise) doubles its output variance in each of its 27 blocks, and logits near
  1e3 make float32 rounding alone exceed the 1e-4 cross-framework tolerance. 0.1
  keeps them near 1; unlike 0.0 it still gives the branches gradients, which Adam
  (scale-free) turns into full-size steps, so training is as fast as with 1.0.

The entries' defaults are the networks the lab trains on small images; the preset
`paper` is the published network (ImageNet stem, `residual_gamma` 1.0).
"""
from __future__ import annotations

from dataclasses import dataclass

from modules.registry import Architecture, Param, register
from modules.toolkit.plans import check_input_size

PAPER = "He et al. 2015, https://arxiv.org/abs/1512.03385"
BLOCK_EXPANSION = {"basic": 1, "bottleneck": 4}  # block output channels / block width
IMAGENET_STEM_WIDTH = 64
IMAGENET_STEM_STRIDE = 4  # 7x7 conv stride 2, then 3x3 max pool stride 2
SHORTCUTS = ("identity", "projection")  # option A (zero-padded identity) or B (1x1 conv + BN)
IMAGENET_SHORTCUT = "projection"  # the ImageNet nets' shortcuts: torchvision's, not a hyperparameter
CIFAR_SMALL_INPUT = True  # the CIFAR nets always have the small stem: not a hyperparameter


@dataclass(frozen=True)
class ResNetSpec:
    """One ResNet: its block type, blocks per stage and the width of each stage."""

    block: str  # "basic" (two 3x3 convs) or "bottleneck" (1x1, 3x3, 1x1 with 4x expansion)
    blocks: tuple[int, ...]  # blocks per stage; stages after the first start with stride 2
    widths: tuple[int, ...]  # block width per stage (a bottleneck outputs 4x this)
    stem_width: int  # channels of the first convolution
    imagenet_stem: bool  # True: 7x7/2 conv + max pool unless small_input; False: always 3x3/1

    @property
    def depth(self) -> int:
        convs_per_block = 3 if self.block == "bottleneck" else 2
        return convs_per_block * sum(self.blocks) + 2  # + stem conv + classifier

    def stage_channels(self) -> list[tuple[int, int, int]]:
        """(input channels, width, output channels) of every stage."""
        channels, out = [], self.stem_width
        for width in self.widths:
            channels.append((out, width, width * BLOCK_EXPANSION[self.block]))
            out = width * BLOCK_EXPANSION[self.block]
        return channels

    def total_stride(self, small_input: bool) -> int:
        """How much the network shrinks an image side before global pooling."""
        stem = IMAGENET_STEM_STRIDE if self.imagenet_stem and not small_input else 1
        return stem * 2 ** (len(self.blocks) - 1)


def cifar_resnet(n: int) -> ResNetSpec:
    """The paper's 6n+2-layer CIFAR ResNet: three stages of n basic blocks, 16/32/64 wide."""
    return ResNetSpec("basic", (n, n, n), (16, 32, 64), stem_width=16, imagenet_stem=False)


RESNETS: dict[str, ResNetSpec] = {
    "resnet18": ResNetSpec("basic", (2, 2, 2, 2), (64, 128, 256, 512), IMAGENET_STEM_WIDTH, True),
    "resnet34": ResNetSpec("basic", (3, 4, 6, 3), (64, 128, 256, 512), IMAGENET_STEM_WIDTH, True),
    "resnet50": ResNetSpec("bottleneck", (3, 4, 6, 3), (64, 128, 256, 512), IMAGENET_STEM_WIDTH, True),
    "resnet20": cifar_resnet(3),
    "resnet56": cifar_resnet(9),
}


# Training on digits at 32x32 (1,257 images): enough epochs to pass 90% test accuracy,
# no more, as a 2-core machine pays for every one (Adam, lr 1e-3, batch 64 from params.yaml).
# Every ResNet decays the learning rate as the paper does (cosine here, for its steps): at a
# constant 1e-3 the last epochs' validation accuracy swung widely (resnet56), and resnet18's
# 3-epoch score moved with the host's floating-point kernels (docs/benchmarks.md), so the final
# epoch's score was a coin toss.
TRAIN_DEFAULTS = {
    "resnet18": {"epochs": 3, "lr_schedule": "cosine"},
    "resnet34": {"epochs": 3, "lr_schedule": "cosine"},
    "resnet50": {"epochs": 4, "lr_schedule": "cosine"},
    "resnet20": {"epochs": 10, "lr_schedule": "cosine"},
    "resnet56": {"epochs": 10, "lr_schedule": "cosine"},
}


def check_resnet_input(name: str, input_shape: tuple, small_input: bool) -> None:
    """Every stage must see at least a 1x1 map: the side must reach the total stride."""
    spec = RESNETS[name]
    setting = "" if small_input or not spec.imagenet_stem else " with small_input=false"
    check_input_size(name, input_shape, spec.total_stride(small_input), setting)


# One keyword row per entry, as every family's spec writes it: `duplicates` pairs these rows across
# families by their shape, which is the registry's data format, not repeated logic.
for _name, _spec in RESNETS.items():
    if _spec.imagenet_stem:
        _defaults = {"small_input": True, "residual_gamma": 1.0}
        _presets = {"paper": {"small_input": False, "residual_gamma": 1.0}}
        _space = {"small_input": Param("bool", choices=(True, False))}
    else:
        _defaults = {"shortcut": "identity", "residual_gamma": 0.1}
        _presets = {"paper": {"shortcut": "identity", "residual_gamma": 1.0}}
        _space = {"shortcut": Param("categorical", choices=SHORTCUTS)}
    _space["residual_gamma"] = Param("float", 0.0, 1.0, bounds=(0.0, 10.0))
    register(Architecture(name=_name, task="classify", family="cnn", module="resnet",
                              default_data="mnist_5k",
        defaults=_defaults,
        space=_space,
        presets=_presets,
        min_input_size=_spec.total_stride(small_input=True),
        default_image_size=32,
        train_defaults=TRAIN_DEFAULTS[_name],
        paper=PAPER,
    ))
