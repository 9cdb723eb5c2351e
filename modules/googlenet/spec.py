"""GoogLeNet (Szegedy et al. 2014): inception modules with four branches and 1x1 reductions.

One table (`INCEPTIONS`, the paper's Table 1) drives both `torch_net.py` and `keras_net.py`.

Choices stated where the paper leaves room:
- Max poolings are 3x3 stride 2 rounded up (Caffe's and torchvision's ceil mode), so a
  224x224 image gives Table 1's 112, 56, 28, 14 and 7 pixel maps.
- Response normalisation (`lrn=True`) follows the first max pooling and the 3x3 stem
  convolution (Figure 3), with the reference Caffe model's constants (size 5,
  alpha 1e-4, beta 0.75, k 1: Caffe and torch both divide alpha by the size).
- The final 7x7 average pooling is a global average pooling (the same at 224x224).
- Auxiliary classifiers (`aux_logits=True`, section 5): on inception 4a and 4d, 5x5
  average pooling stride 3, 1x1 convolution with 128 filters, fully connected 1024,
  dropout 0.7, linear; their losses are added with weight 0.3 in training and they
  are ignored at evaluation.
- `batch_norm=True` (not in the paper: an Inception v2 ingredient) gives every
  convolution batch norm instead of a bias, as torchvision's `googlenet`, which then
  differs only by its 3x3 instead of 5x5 convolutions in the third branch (a bug kept
  for its weights, pytorch/vision#906; `branch3_kernel=3`) and by having no LRN: the preset
  `torchvision` is that network, whose state dicts load (`TORCHVISION_NAMES` in `torch_net.py`). On for small images:
  trained from scratch with Adam, the plain network stays at chance.
- Small images: `small_input=True` swaps the 7x7 stride-2 convolution and its max
  pooling for one 3x3 stride-1 convolution, so a 32x32 digit reaches inception 3a at
  16x16; `width` scales every convolution and the auxiliary fully connected layer.
  The entry's defaults are that small-image network; the preset `paper` is the published one.
"""
from __future__ import annotations

import math

from modules.registry import Architecture, Param, register
from modules.toolkit.plans import check_input_size, scaled

# Table 1: (name, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj); a bare name
# is a 3x3 stride-2 max pooling.
INCEPTIONS = (
    ("inception3a", 64, 96, 128, 16, 32, 32),
    ("inception3b", 128, 128, 192, 32, 96, 64),
    "maxpool3",
    ("inception4a", 192, 96, 208, 16, 48, 64),
    ("inception4b", 160, 112, 224, 24, 64, 64),
    ("inception4c", 128, 128, 256, 24, 64, 64),
    ("inception4d", 112, 144, 288, 32, 64, 64),
    ("inception4e", 256, 160, 320, 32, 128, 128),
    "maxpool4",
    ("inception5a", 256, 160, 320, 32, 128, 128),
    ("inception5b", 384, 192, 384, 48, 128, 128),
)
# Stem: conv1 (7x7/2 at ImageNet, 3x3/1 for small images), [max pool], [LRN],
# conv2 1x1 reduce, conv3 3x3, [LRN], max pool.
STEM_CHANNELS = (64, 64, 192)
IMAGENET_STEM = (7, 2, 3)  # (kernel, stride, padding) of conv1, then a max pooling
SMALL_STEM = (3, 1, 1)  # no max pooling after it
MAX_POOL = ("maxpool", 3, 2, 0, True)  # 3x3 stride 2, ceil mode (a layer plan entry)
AUX_AFTER = ("inception4a", "inception4d")
AUX_POOL = (5, 3)  # average pooling kernel, stride
AUX_CHANNELS, AUX_HIDDEN = 128, 1024
AUX_DROPOUT = 0.7
AUX_LOSS_WEIGHT = 0.3  # section 5: "their loss is added to the total loss with a discount weight"
LRN = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1.0}
# torchvision's GoogLeNet (batch_norm=True) keeps TensorFlow's Inception epsilon, not torch's 1e-5
GOOGLENET_BN_EPSILON = 1e-3


def is_pool(spec) -> bool:
    """Whether an `INCEPTIONS` row is a max pooling (a bare name) rather than an inception module."""
    return isinstance(spec, str)


def inception_spec(name: str) -> tuple:
    """The `INCEPTIONS` row of inception module `name`."""
    return next(spec for spec in INCEPTIONS if not is_pool(spec) and spec[0] == name)


def conv_relu(out: int, kernel: int, batch_norm: bool, stride: int = 1, padding: int = 0) -> list[tuple]:
    """Convolution and ReLU; with batch norm (torchvision's BasicConv2d) the convolution has no bias."""
    if batch_norm:
        return [("conv", out, kernel, stride, padding, False), ("bn", GOOGLENET_BN_EPSILON), ("activation",)]
    return [("conv", out, kernel, stride, padding), ("activation",)]


def stem_layers(width: float, lrn: bool, small_input: bool, batch_norm: bool) -> list[tuple]:
    """The stem as a layer plan (see `modules.toolkit.plans`)."""
    c1, c2, c3 = (scaled(c, width) for c in STEM_CHANNELS)
    kernel, stride, padding = SMALL_STEM if small_input else IMAGENET_STEM
    norm = [("lrn", LRN)] if lrn else []
    return [*conv_relu(c1, kernel, batch_norm, stride, padding), *([] if small_input else [MAX_POOL]), *norm,
            *conv_relu(c2, 1, batch_norm), *conv_relu(c3, 3, batch_norm, padding=1), *norm, MAX_POOL]


def branch_layers(spec: tuple, width: float, batch_norm: bool, branch3_kernel: int) -> list[list[tuple]]:
    """The four branches of one inception module as layer plans; `branch3_kernel` is the third
    branch's kernel (the paper's 5, torchvision's 3)."""
    c1, c3_reduce, c3, c5_reduce, c5, pool_proj = inception_channels(spec, width)
    return [conv_relu(c1, 1, batch_norm),
            conv_relu(c3_reduce, 1, batch_norm) + conv_relu(c3, 3, batch_norm, padding=1),
            conv_relu(c5_reduce, 1, batch_norm) + conv_relu(c5, branch3_kernel, batch_norm,
                                                            padding=branch3_kernel // 2),
            [("maxpool", 3, 1, 1), *conv_relu(pool_proj, 1, batch_norm)]]


def aux_conv_layers(width: float, batch_norm: bool) -> list[tuple]:
    """The auxiliary classifier's 1x1 convolution (and ReLU) as a layer plan."""
    return conv_relu(scaled(AUX_CHANNELS, width), 1, batch_norm)


def pooled_side(side: int, kernel: int, stride: int, ceil_mode: bool) -> int:
    """Output side of a max/avg pooling without padding (0: the input is smaller than the kernel)."""
    if side < kernel:
        return 0
    rounding = math.ceil if ceil_mode else math.floor
    return rounding((side - kernel) / stride) + 1


def inception_channels(spec: tuple, width: float) -> tuple[int, ...]:
    """The six widths of one inception module, scaled."""
    return tuple(scaled(c, width) for c in spec[1:])


def inception_out(spec: tuple, width: float) -> int:
    """Output channels of one inception module: its four branches concatenated."""
    c1, _, c3, _, c5, proj = inception_channels(spec, width)
    return c1 + c3 + c5 + proj


def feature_sides(side: int, small_input: bool) -> dict[str, int]:
    """Side of the map entering each inception module and leaving the stem (0: too small)."""
    kernel, stride, padding = SMALL_STEM if small_input else IMAGENET_STEM
    side = (side + 2 * padding - kernel) // stride + 1
    if not small_input:
        side = pooled_side(side, 3, 2, ceil_mode=True)
    side = pooled_side(side, 3, 2, ceil_mode=True)
    sides = {"stem": side}
    for spec in INCEPTIONS:
        if is_pool(spec):
            side = pooled_side(side, 3, 2, ceil_mode=True)
        else:
            sides[spec[0]] = side
    return sides


def aux_side(side: int, small_input: bool) -> int:
    """Side of an auxiliary classifier's pooled map (inception 4a and 4d see the same side)."""
    return pooled_side(feature_sides(side, small_input)["inception4a"], *AUX_POOL, ceil_mode=False)


def min_input_size(small_input: bool, aux_logits: bool) -> int:
    """The smallest square input GoogLeNet accepts with these settings."""
    def fits(side: int) -> bool:
        return min(feature_sides(side, small_input).values()) >= 1 and (
            not aux_logits or aux_side(side, small_input) >= 1)
    return next(s for s in range(1, 4096) if fits(s))


def check_googlenet_input(input_shape: tuple, small_input: bool, aux_logits: bool) -> None:
    """Raise UserError in one line, naming the settings that set the minimum, when the image is too small."""
    settings = [s for s, on in (("small_input=false", not small_input), ("aux_logits=true", aux_logits)) if on]
    check_input_size("googlenet", input_shape, min_input_size(small_input, aux_logits),
                     f" with {' and '.join(settings)}" if settings else "")


register(Architecture(name="googlenet", task="classify", family="cnn", module="googlenet",
                          default_data="mnist_5k",
    # small-image settings
    defaults={"width": 0.125, "dropout": 0.4, "aux_logits": True, "lrn": False, "batch_norm": True,
              "small_input": True, "branch3_kernel": 5},
    space={
        "width": Param("float", 0.125, 1.0, log=True, bounds=(0.01, 8.0)),
        "dropout": Param("float", 0.0, 0.7, bounds=(0.0, 0.99)),
        "aux_logits": Param("bool", choices=(True, False)),
        "lrn": Param("bool", choices=(True, False)),
        "batch_norm": Param("bool", choices=(True, False)),
        "small_input": Param("bool", choices=(True, False)),
        "branch3_kernel": Param("categorical", choices=(5, 3)),
    },
    presets={"paper": {"width": 1.0, "dropout": 0.4, "aux_logits": True, "lrn": True, "batch_norm": False,
                       "small_input": False, "branch3_kernel": 5},
             # torchvision.models.googlenet(weights=None): its state dicts load into this one
             "torchvision": {"width": 1.0, "dropout": 0.2, "aux_logits": True, "lrn": False, "batch_norm": True,
                             "small_input": False, "branch3_kernel": 3}},
    min_input_size=min_input_size(small_input=True, aux_logits=True),
    default_image_size=32,
    train_defaults={"epochs": 8},
    paper="Szegedy et al. 2014, https://arxiv.org/abs/1409.4842",
))
