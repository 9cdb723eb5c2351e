"""Residual networks (Keras). Mirrors `torch_net.py`: same helpers, in the same order.

Weighted layers are named after the torch module paths (`conv1`, `layer1.0.bn2`,
`layer2.0.downsample.0`, `fc`) so weights transfer by name; the others are named
after their role in the block (`layer1.0.relu1`, `layer1.0.add`).
"""
from __future__ import annotations

import keras
from keras import layers

# the same spec names as torch_net.py imports (`duplicates` pairs the two lists)
from modules.resnet.spec import (
    BLOCK_EXPANSION,
    CIFAR_SMALL_INPUT,
    IMAGENET_SHORTCUT,
    RESNETS,
    ResNetSpec,
    check_resnet_input,
)
from modules.toolkit.keras_layers import (
    batch_norm,
    channels_last_shape,
    conv2d,
    kaiming_normal,
    torch_dense,
)


def conv_bn(x, out_channels: int, kernel: int, stride: int, name: str, bn_name: str, gamma: float):
    """A bias-free convolution padded as torch pads (k//2 each side, keeping ceil(side / stride)),
    initialised as torchvision's (kaiming normal, fan out), and its batch norm starting at `gamma`."""
    x = conv2d(x, out_channels, kernel, stride, kernel // 2, bias=False, name=name,
               kernel_initializer=kaiming_normal("fan_out"))
    return batch_norm(bn_name, gamma_initializer=keras.initializers.Constant(gamma))(x)


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


def make_shortcut(x, shortcut: str, in_channels: int, out_channels: int, stride: int, name: str):
    """x where the shape is kept; else a 1x1 projection + BN (B) or a zero-padded identity (A)."""
    if stride == 1 and in_channels == out_channels:
        return x
    if shortcut == "identity":
        return ZeroPadShortcut(stride, out_channels - in_channels, name=f"{name}.downsample")(x)
    return conv_bn(x, out_channels, 1, stride, f"{name}.downsample.0", f"{name}.downsample.1", 1.0)


def basic_block(x, in_channels: int, width: int, stride: int, shortcut: str, residual_gamma: float, name: str):
    """Two 3x3 convolutions; the first carries the stride."""
    identity = make_shortcut(x, shortcut, in_channels, width, stride, name)
    out = conv_bn(x, width, 3, stride, f"{name}.conv1", f"{name}.bn1", 1.0)
    out = layers.ReLU(name=f"{name}.relu1")(out)
    out = conv_bn(out, width, 3, 1, f"{name}.conv2", f"{name}.bn2", residual_gamma)
    return layers.ReLU(name=f"{name}.relu")(layers.Add(name=f"{name}.add")([out, identity]))


def bottleneck(x, in_channels: int, width: int, stride: int, shortcut: str, residual_gamma: float, name: str):
    """1x1 reduce, 3x3 (carrying the stride: torchvision's v1.5), 1x1 expand by 4."""
    out_channels = width * BLOCK_EXPANSION["bottleneck"]
    identity = make_shortcut(x, shortcut, in_channels, out_channels, stride, name)
    out = layers.ReLU(name=f"{name}.relu1")(conv_bn(x, width, 1, 1, f"{name}.conv1", f"{name}.bn1", 1.0))
    out = layers.ReLU(name=f"{name}.relu2")(conv_bn(out, width, 3, stride, f"{name}.conv2", f"{name}.bn2", 1.0))
    out = conv_bn(out, out_channels, 1, 1, f"{name}.conv3", f"{name}.bn3", residual_gamma)
    return layers.ReLU(name=f"{name}.relu")(layers.Add(name=f"{name}.add")([out, identity]))


BLOCKS = {"basic": basic_block, "bottleneck": bottleneck}


def build_resnet(name: str, spec: ResNetSpec, input_shape: tuple, num_classes: int, small_input: bool,
                 shortcut: str, residual_gamma: float) -> keras.Model:
    """Stem, stages of residual blocks (`layer1`...), global average pool, `fc`."""
    inputs = keras.Input(channels_last_shape(input_shape), name="input")  # (H, W, C)
    if spec.imagenet_stem and not small_input:
        x = layers.ReLU(name="relu")(conv_bn(inputs, spec.stem_width, 7, 2, "conv1", "bn1", 1.0))
        # zero padding acts as torch's -inf padding here: the input is >= 0 after ReLU
        x = layers.MaxPooling2D(3, strides=2, name="maxpool")(layers.ZeroPadding2D(1, name="maxpool.pad")(x))
    else:
        x = layers.ReLU(name="relu")(conv_bn(inputs, spec.stem_width, 3, 1, "conv1", "bn1", 1.0))
    block = BLOCKS[spec.block]
    for i, ((c_in, width, c_out), n) in enumerate(zip(spec.stage_channels(), spec.blocks)):
        for j in range(n):
            x = block(x, c_in if j == 0 else c_out, width, 2 if i > 0 and j == 0 else 1, shortcut,
                      residual_gamma, f"layer{i + 1}.{j}")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)  # (B, C)
    features = spec.stage_channels()[-1][2]
    outputs = torch_dense(num_classes, features, name="fc")(x)
    return keras.Model(inputs, outputs, name=name)


def create_resnet(name: str, input_shape: tuple, num_classes: int, small_input: bool, shortcut: str,
                  residual_gamma: float) -> keras.Model:
    """The ResNet `RESNETS[name]`, after checking the image is large enough."""
    check_resnet_input(name, input_shape, small_input)
    return build_resnet(name, RESNETS[name], input_shape, num_classes, small_input, shortcut, residual_gamma)


def resnet18(input_shape: tuple, num_classes: int, *, small_input: bool, residual_gamma: float) -> keras.Model:
    """ResNet-18 (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return create_resnet("resnet18", input_shape, num_classes, small_input, IMAGENET_SHORTCUT, residual_gamma)


def resnet34(input_shape: tuple, num_classes: int, *, small_input: bool, residual_gamma: float) -> keras.Model:
    """ResNet-34 (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return create_resnet("resnet34", input_shape, num_classes, small_input, IMAGENET_SHORTCUT, residual_gamma)


def resnet50(input_shape: tuple, num_classes: int, *, small_input: bool, residual_gamma: float) -> keras.Model:
    """ResNet-50, bottleneck blocks (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return create_resnet("resnet50", input_shape, num_classes, small_input, IMAGENET_SHORTCUT, residual_gamma)


def resnet20(input_shape: tuple, num_classes: int, *, shortcut: str, residual_gamma: float) -> keras.Model:
    """ResNet-20 for CIFAR, 6n+2 with n=3 (He et al. 2015 sec. 4.2, https://arxiv.org/abs/1512.03385)."""
    return create_resnet("resnet20", input_shape, num_classes, CIFAR_SMALL_INPUT, shortcut, residual_gamma)


def resnet56(input_shape: tuple, num_classes: int, *, shortcut: str, residual_gamma: float) -> keras.Model:
    """ResNet-56 for CIFAR, 6n+2 with n=9 (He et al. 2015 sec. 4.2, https://arxiv.org/abs/1512.03385)."""
    return create_resnet("resnet56", input_shape, num_classes, CIFAR_SMALL_INPUT, shortcut, residual_gamma)
