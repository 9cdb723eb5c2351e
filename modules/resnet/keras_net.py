"""Residual networks (Keras). Mirrors `modules/torch/resnet.py`.

Weighted layers are named after the torch module paths (`conv1`, `layer1.0.bn2`,
`layer2.0.downsample.0`, `fc`) so weights transfer by name. Strided convolutions
pad explicitly (torch pads both sides by k//2; Keras's "same" pads an even side
only at the bottom/right, which would shift every stride-2 map by one pixel).
"""
from __future__ import annotations

import keras
from keras import layers

from modules.catalog.resnet import BLOCK_EXPANSION, RESNETS, ResNetSpec, check_resnet_input
from modules.toolkit.keras_layers import channels_last_shape

BN_EPSILON, BN_MOMENTUM = 1e-5, 0.9  # torch's eps 1e-5 and momentum 0.1 (= 1 - 0.9)


def conv_initializer():
    """torchvision's kaiming_normal_(mode="fan_out", nonlinearity="relu")."""
    return keras.initializers.VarianceScaling(2.0, mode="fan_out", distribution="untruncated_normal")


def dense(units: int, fan_in: int, name: str) -> layers.Dense:
    """A Dense layer initialised as torch's nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = fan_in ** -0.5
    return layers.Dense(units, name=name,
                        kernel_initializer=keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform"),
                        bias_initializer=keras.initializers.RandomUniform(-bound, bound))


def conv(x, filters: int, kernel: int, stride: int, name: str):
    """A bias-free convolution keeping ceil(side / stride), padded as torch pads (k//2 each side)."""
    if stride > 1 and kernel > 1:
        x = layers.ZeroPadding2D(kernel // 2)(x)
        padding = "valid"
    else:
        padding = "same"  # stride 1, odd kernel: k//2 on each side, as torch
    return layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False,
                         kernel_initializer=conv_initializer(), name=name)(x)


def batch_norm(x, name: str, gamma: float = 1.0):
    return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name,
                                     gamma_initializer=keras.initializers.Constant(gamma))(x)


def conv_bn(x, filters: int, kernel: int, stride: int, conv_name: str, bn_name: str,
            gamma: float = 1.0):
    return batch_norm(conv(x, filters, kernel, stride, conv_name), bn_name, gamma)


@keras.saving.register_keras_serializable(package="nnlab")
class ZeroPadShortcut(layers.Layer):
    """Option A: subsample by `stride` and append zero channels (no parameters)."""

    def __init__(self, stride: int, extra_channels: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stride, self.extra_channels = stride, extra_channels

    def call(self, x):  # (B, H, W, C) -> (B, ceil(H/s), ceil(W/s), C + extra)
        x = x[:, ::self.stride, ::self.stride, :]
        return keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, self.extra_channels]])

    def compute_output_shape(self, shape):
        side = [None if s is None else -(-s // self.stride) for s in shape[1:3]]
        return (shape[0], *side, shape[3] + self.extra_channels)

    def get_config(self) -> dict:
        return {**super().get_config(), "stride": self.stride, "extra_channels": self.extra_channels}


def shortcut(x, kind: str, in_channels: int, out_channels: int, stride: int, name: str):
    """x where the shape is kept; else a 1x1 projection + BN (B) or a zero-padded identity (A)."""
    if stride == 1 and in_channels == out_channels:
        return x
    if kind == "identity":
        return ZeroPadShortcut(stride, out_channels - in_channels)(x)
    return conv_bn(x, out_channels, 1, stride, f"{name}.downsample.0", f"{name}.downsample.1")


def basic_block(x, in_channels: int, width: int, stride: int, kind: str, name: str,
                residual_gamma: float = 1.0):
    """Two 3x3 convolutions; the first carries the stride."""
    identity = shortcut(x, kind, in_channels, width, stride, name)
    out = layers.ReLU()(conv_bn(x, width, 3, stride, f"{name}.conv1", f"{name}.bn1"))
    out = conv_bn(out, width, 3, 1, f"{name}.conv2", f"{name}.bn2", residual_gamma)
    return layers.ReLU()(layers.Add()([out, identity]))


def bottleneck_block(x, in_channels: int, width: int, stride: int, kind: str, name: str,
                     residual_gamma: float = 1.0):
    """1x1 reduce, 3x3 (carrying the stride: torchvision's v1.5), 1x1 expand by 4."""
    out_channels = width * BLOCK_EXPANSION["bottleneck"]
    identity = shortcut(x, kind, in_channels, out_channels, stride, name)
    out = layers.ReLU()(conv_bn(x, width, 1, 1, f"{name}.conv1", f"{name}.bn1"))
    out = layers.ReLU()(conv_bn(out, width, 3, stride, f"{name}.conv2", f"{name}.bn2"))
    out = conv_bn(out, out_channels, 1, 1, f"{name}.conv3", f"{name}.bn3", residual_gamma)
    return layers.ReLU()(layers.Add()([out, identity]))


BLOCKS = {"basic": basic_block, "bottleneck": bottleneck_block}


def build_resnet(name: str, spec: ResNetSpec, input_shape: tuple, num_classes: int,
                 small_input: bool = True, shortcut_kind: str = "projection",
                 residual_gamma: float = 1.0) -> keras.Model:
    """Stem, stages of residual blocks (`layer1`...), global average pool, `fc`."""
    inputs = keras.Input(channels_last_shape(input_shape))  # (H, W, C)
    if spec.imagenet_stem and not small_input:
        x = layers.ReLU()(conv_bn(inputs, spec.stem_width, 7, 2, "conv1", "bn1"))
        # zero padding acts as torch's -inf padding here: the input is >= 0 after ReLU
        x = layers.MaxPooling2D(3, strides=2)(layers.ZeroPadding2D(1)(x))
    else:
        x = layers.ReLU()(conv_bn(inputs, spec.stem_width, 3, 1, "conv1", "bn1"))
    block = BLOCKS[spec.block]
    for i, ((c_in, width, c_out), n) in enumerate(zip(spec.stage_channels(), spec.blocks)):
        for j in range(n):
            stride = 2 if i > 0 and j == 0 else 1
            x = block(x, c_in if j == 0 else c_out, width, stride, shortcut_kind, f"layer{i + 1}.{j}",
                      residual_gamma)
    x = layers.GlobalAveragePooling2D()(x)  # (B, C)
    width = spec.stage_channels()[-1][2]
    outputs = dense(num_classes, width, "fc")(x)
    return keras.Model(inputs, outputs, name=name)


def _create_resnet(name: str, input_shape: tuple, num_classes: int, small_input: bool = True,
                   shortcut: str = "projection", residual_gamma: float = 1.0) -> keras.Model:
    check_resnet_input(name, input_shape, small_input)
    return build_resnet(name, RESNETS[name], input_shape, num_classes, small_input, shortcut,
                        residual_gamma)


def resnet18(input_shape: tuple, num_classes: int = 10, small_input: bool = True,
             residual_gamma: float = 1.0) -> keras.Model:
    """ResNet-18 (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return _create_resnet("resnet18", input_shape, num_classes, small_input=small_input,
                          residual_gamma=residual_gamma)


def resnet34(input_shape: tuple, num_classes: int = 10, small_input: bool = True,
             residual_gamma: float = 1.0) -> keras.Model:
    """ResNet-34 (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return _create_resnet("resnet34", input_shape, num_classes, small_input=small_input,
                          residual_gamma=residual_gamma)


def resnet50(input_shape: tuple, num_classes: int = 10, small_input: bool = True,
             residual_gamma: float = 1.0) -> keras.Model:
    """ResNet-50, bottleneck blocks (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return _create_resnet("resnet50", input_shape, num_classes, small_input=small_input,
                          residual_gamma=residual_gamma)


def resnet20(input_shape: tuple, num_classes: int = 10, shortcut: str = "identity",
             residual_gamma: float = 0.1) -> keras.Model:
    """ResNet-20 for CIFAR, 6n+2 with n=3 (He et al. 2015 sec. 4.2, https://arxiv.org/abs/1512.03385)."""
    return _create_resnet("resnet20", input_shape, num_classes, shortcut=shortcut,
                          residual_gamma=residual_gamma)


def resnet56(input_shape: tuple, num_classes: int = 10, shortcut: str = "identity",
             residual_gamma: float = 0.1) -> keras.Model:
    """ResNet-56 for CIFAR, 6n+2 with n=9 (He et al. 2015 sec. 4.2, https://arxiv.org/abs/1512.03385)."""
    return _create_resnet("resnet56", input_shape, num_classes, shortcut=shortcut,
                          residual_gamma=residual_gamma)
