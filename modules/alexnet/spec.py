"""AlexNet (Krizhevsky, Sutskever & Hinton 2012).

Choices stated where the paper leaves room:
- The paper splits conv2, conv4, conv5 and the cross-GPU connections over two GPUs;
  here each layer is one convolution of the summed width, as every single-device
  reimplementation does (62.4M parameters at ImageNet size, vs the paper's ~60M).
- `channels="2014"` gives the widths of Krizhevsky's "One weird trick" (torchvision's
  `alexnet`); with `lrn=False` the parameter count then equals torchvision's.
- Dropout on the first two fully connected layers (section 4.2) sits on their inputs, as
  torchvision's `alexnet` has it (the paper does not say which side), so torchvision's
  module names (`classifier.1/4/6`) and state dicts hold here.
- `lrn=True` adds the paper's response normalisation after conv1 and conv2; torch's
  `nn.LocalResponseNorm` on one side, `modules/toolkit/keras_local_response_norm.py` on the other.
- Small images: `small_input=True` swaps the 11x11 stride-4 first convolution for a
  5x5 stride-1 one, so a 32x32 digit keeps enough resolution for the three poolings;
  `width` scales every convolution and `classifier_width` the two hidden fully
  connected layers (4096 in the paper). Everything else is unchanged.

The entry's defaults are that small-image network (the one the lab trains); the preset
`paper` is the published one.
"""
from __future__ import annotations

from modules.activations import ACTIVATIONS
from modules.registry import Architecture, Param, register
from modules.toolkit.plans import check_input_size, scaled

# Channels of the five convolutions: the paper (its two GPU halves merged) and
# "One weird trick" (arXiv:1404.5997), which torchvision uses.
ALEXNET_CHANNELS = {"2012": (96, 256, 384, 384, 256), "2014": (64, 192, 384, 256, 256)}
# (kernel, stride, padding) of the first convolution; padding 2 gives the paper's
# 55x55 maps from 224x224 inputs.
IMAGENET_STEM = (11, 4, 2)
SMALL_STEM = (5, 1, 2)
# (kernel, stride, padding) of convolutions 2 to 5
ALEXNET_CONVS = ((5, 1, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1))
ALEXNET_POOL = (3, 2)  # overlapping max pooling, section 3.4
POOL_AFTER = (0, 1, 4)  # convolutions followed by max pooling (section 3.5)
LRN_AFTER = (0, 1)  # convolutions followed by response normalisation (section 3.5)
# Section 3.3: b = a / (k + alpha * sum over n neighbouring channels of a^2)^beta with
# k=2, n=5, alpha=1e-4, beta=0.75. torch's LocalResponseNorm divides alpha by n, so
# the paper's alpha is passed as n * 1e-4.
ALEXNET_LRN = {"size": 5, "alpha": 5 * 1e-4, "beta": 0.75, "k": 2.0}


def conv_specs(channels: str, width: float, small_input: bool) -> list[tuple[int, int, int, int]]:
    """(out_channels, kernel, stride, padding) of the five convolutions."""
    kernels = (SMALL_STEM if small_input else IMAGENET_STEM,) + ALEXNET_CONVS
    return [(scaled(c, width), k, s, p) for c, (k, s, p) in zip(ALEXNET_CHANNELS[channels], kernels)]


def feature_side(side: int, small_input: bool) -> int:
    """Side of the last feature map for a square input of `side` (0: too small)."""
    kernels = (SMALL_STEM if small_input else IMAGENET_STEM,) + ALEXNET_CONVS
    for i, (kernel, stride, padding) in enumerate(kernels):
        side = (side + 2 * padding - kernel) // stride + 1
        if i in POOL_AFTER:
            pool, pool_stride = ALEXNET_POOL
            side = (side - pool) // pool_stride + 1 if side >= pool else 0
        if side < 1:
            return 0
    return side


def min_input_size(small_input: bool) -> int:
    """The smallest square input AlexNet accepts."""
    return next(s for s in range(1, 4096) if feature_side(s, small_input) >= 1)


def check_alexnet_input(input_shape: tuple, small_input: bool) -> None:
    """Raise UserError in one line when the image is too small for the three poolings."""
    check_input_size("alexnet", input_shape, min_input_size(small_input),
                     "" if small_input else " with small_input=false")


def feature_layers(channels: str, width: float, lrn: bool, small_input: bool) -> list[tuple]:
    """The `features` stack as a layer plan (see `modules.toolkit.plans`)."""
    plan = []
    for i, (out, kernel, stride, padding) in enumerate(conv_specs(channels, width, small_input)):
        plan += [("conv", out, kernel, stride, padding), ("activation",)]
        if lrn and i in LRN_AFTER:
            plan.append(("lrn", ALEXNET_LRN))
        if i in POOL_AFTER:
            plan.append(("maxpool", *ALEXNET_POOL))
    return plan


register(Architecture(name="alexnet", task="classify", family="cnn", module="alexnet",
                          default_data="mnist_5k",
    # small-image settings (LRN is off: torch's LRN makes each step markedly slower, see
    # docs/benchmarks.md, and the accuracy does not need it)
    defaults={"channels": "2012", "width": 0.25, "classifier_width": 512, "dropout": 0.5,
              "lrn": False, "small_input": True, "activation": "relu"},
    space={
        "channels": Param("categorical", choices=tuple(ALEXNET_CHANNELS)),
        "width": Param("float", 0.125, 1.0, log=True, bounds=(0.01, 8.0)),
        "classifier_width": Param("int", 64, 4096, log=True, bounds=(1, 1 << 16)),
        "dropout": Param("float", 0.0, 0.7, bounds=(0.0, 0.99)),
        "lrn": Param("bool", choices=(True, False)),
        "small_input": Param("bool", choices=(True, False)),
        "activation": Param("categorical", choices=ACTIVATIONS),
    },
    presets={"paper": {"channels": "2012", "width": 1.0, "classifier_width": 4096, "dropout": 0.5,
                       "lrn": True, "small_input": False},
             # torchvision.models.alexnet ("One weird trick" widths): its state dicts load into this one
             "torchvision": {"channels": "2014", "width": 1.0, "classifier_width": 4096, "dropout": 0.5,
                             "lrn": False, "small_input": False}},
    min_input_size=min_input_size(small_input=True),
    default_image_size=32,
    train_defaults={"epochs": 10},
    paper="Krizhevsky, Sutskever & Hinton 2012, https://papers.nips.cc/paper/4824",
))
