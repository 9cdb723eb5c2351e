"""VGG (Simonyan & Zisserman 2014): stacks of 3x3 convolutions, configurations A, B, D, E.

One table (`VGG_CONFIGS`) holds every variant; `torch_net.py` and `keras_net.py` both
read it through `feature_layers`.

Choices stated where the paper leaves room:
- Convolutions are 3x3, stride 1, padding 1; max pooling 2x2 stride 2 (section 2.1).
- `batch_norm=True` puts batch norm (not in the paper, which predates it) between
  each convolution and its ReLU, as torchvision's `vgg*_bn`.
- The classifier flattens the last feature map as it is: 7x7x512 at 224x224, so the
  ImageNet networks equal torchvision's parameter counts (torchvision's adaptive
  7x7 pooling is the identity there); a 32x32 image leaves 1x1x512, as the usual
  CIFAR VGG. Minimum input: 32x32 (five halvings).
- Small images: `width` scales every convolution and `classifier_width` the two
  hidden fully connected layers (4096 in the paper). Everything else is unchanged.
  The entry's defaults are that small-image network; the preset `paper` is the published
  one (its 224x224 input is the command line's `--image-size 224`).
"""
from __future__ import annotations

from typing import Callable

from modules.activations import ACTIVATIONS
from modules.registry import Architecture, Param, register
from modules.toolkit.plans import check_input_size, scaled

POOL = "M"
# Table 1 of the paper: output channels of each 3x3 convolution, "M" for max pooling.
VGG_CONFIGS = {
    "vgg11": (64, POOL, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL),  # A
    "vgg13": (64, 64, POOL, 128, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL),  # B
    "vgg16": (64, 64, POOL, 128, 128, POOL, 256, 256, 256, POOL, 512, 512, 512, POOL,
              512, 512, 512, POOL),  # D
    "vgg19": (64, 64, POOL, 128, 128, POOL, 256, 256, 256, 256, POOL, 512, 512, 512, 512, POOL,
              512, 512, 512, 512, POOL),  # E
}
# the paper's column of each configuration
VGG_LETTERS = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}
POOLINGS = 5
MIN_INPUT_SIZE = 2 ** POOLINGS


def feature_layers(name: str, width: float, batch_norm: bool) -> list[tuple]:
    """The `features` stack of configuration `name` as a layer plan (see `modules.toolkit.plans`)."""
    plan = []
    for entry in VGG_CONFIGS[name]:
        if entry == POOL:
            plan.append(("maxpool", 2, 2))
        else:
            plan += [("conv", scaled(entry, width), 3, 1, 1)] + [("bn",)] * batch_norm + [("activation",)]
    return plan


def feature_shape(name: str, width: float, side: int) -> tuple[int, int]:
    """(channels, side) of the last feature map for a square input of `side`."""
    return scaled(VGG_CONFIGS[name][-2], width), side // 2 ** POOLINGS


def check_vgg_input(name: str, input_shape: tuple) -> None:
    """Raise UserError in one line when the image is too small for the five poolings."""
    check_input_size(name, input_shape, MIN_INPUT_SIZE)


def vgg_builder(config: str, create: Callable) -> Callable:
    """The public builder of configuration `config` for one framework: its hyperparameters as
    required keywords, passed on to that framework's `create(config, input_shape, num_classes, ...)`.
    Written once here so that both twins' builders have the same signature."""
    def build(input_shape: tuple, num_classes: int, *, width: float, classifier_width: int, dropout: float,
              batch_norm: bool, activation: str):
        return create(config, input_shape, num_classes, width, classifier_width, dropout, batch_norm, activation)

    build.__name__ = build.__qualname__ = config
    build.__doc__ = (f"VGG-{config[3:]}, configuration {VGG_LETTERS[config]} "
                     "(Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556).")
    return build


# One keyword row per entry, as every family's spec writes it: `duplicates` pairs these rows across
# families by their shape, which is the registry's data format, not repeated logic.
for _name in VGG_CONFIGS:
    register(Architecture(name=_name, task="classify", family="cnn", module="vgg",
                              default_data="mnist_5k",
        # small-image settings. Batch norm is on here: trained from scratch with Adam, VGG-19
        # without it stays at chance (the paper trained its deeper nets starting from the
        # shallower ones' weights).
        defaults={"width": 0.25, "classifier_width": 256, "dropout": 0.5, "batch_norm": True,
                  "activation": "relu"},
        space={
            "width": Param("float", 0.125, 1.0, log=True, bounds=(0.01, 8.0)),
            "classifier_width": Param("int", 64, 4096, log=True, bounds=(1, 1 << 16)),
            "dropout": Param("float", 0.0, 0.7, bounds=(0.0, 0.99)),
            "batch_norm": Param("bool", choices=(True, False)),
            "activation": Param("categorical", choices=ACTIVATIONS),
        },
        presets={"paper": {"width": 1.0, "classifier_width": 4096, "dropout": 0.5, "batch_norm": False}},
        min_input_size=MIN_INPUT_SIZE,
        default_image_size=32,
        train_defaults={"epochs": 10},
        paper="Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556",
    ))
