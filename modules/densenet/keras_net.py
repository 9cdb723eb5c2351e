"""Densely connected networks (Keras). Mirrors `torch_net.py`: same helpers, in the same order.

Layers are named after the torch module paths (`features.conv0`,
`features.denseblock1.denselayer1.norm1`, `features.transition1.conv`,
`features.norm5`, `classifier`) so weights transfer by name.
"""
from __future__ import annotations

import keras
from keras import layers

from modules.densenet.spec import BOTTLENECK_FACTOR, CIFAR_SMALL_INPUT, DENSENETS, DenseNetSpec, check_densenet_input
from modules.toolkit.keras_layers import (
    batch_norm,
    channels_last_shape,
    conv2d,
    kaiming_normal,
    linear_kernel_initializer,
)


def conv(x, filters: int, kernel: int, stride: int, name: str):
    """A bias-free convolution padded as torch's (k//2 each side), initialised as torchvision's
    DenseNet (kaiming normal, fan in)."""
    return conv2d(x, filters, kernel, stride, kernel // 2, bias=False, name=name,
                  kernel_initializer=kaiming_normal("fan_in"))


def norm_relu(x, norm_name: str, relu_name: str):
    """Batch norm, then ReLU."""
    return layers.ReLU(name=relu_name)(batch_norm(norm_name)(x))


def dense_layer(x, growth_rate: int, name: str):
    """BN-ReLU-1x1 conv (4k channels), BN-ReLU-3x3 conv (k channels): the new features only."""
    out = conv(norm_relu(x, f"{name}.norm1", f"{name}.relu1"), BOTTLENECK_FACTOR * growth_rate, 1, 1,
               f"{name}.conv1")
    return conv(norm_relu(out, f"{name}.norm2", f"{name}.relu2"), growth_rate, 3, 1, f"{name}.conv2")


def dense_block(x, n_layers: int, growth_rate: int, name: str):
    """Each layer is fed the concatenation of the block input and all earlier outputs."""
    features = [x]
    for i in range(n_layers):
        layer = f"{name}.denselayer{i + 1}"
        joined = features[0] if len(features) == 1 else layers.Concatenate(name=f"{layer}.input")(features)
        features.append(dense_layer(joined, growth_rate, layer))
    return layers.Concatenate(name=f"{name}.output")(features)  # (B, H, W, C + n_layers * k)


def transition(x, out_channels: int, name: str):
    """BN-ReLU-1x1 conv to the compressed width, then a 2x2 average pool."""
    x = conv(norm_relu(x, f"{name}.norm", f"{name}.relu"), out_channels, 1, 1, f"{name}.conv")
    return layers.AveragePooling2D(2, strides=2, name=f"{name}.pool")(x)


def build_densenet(name: str, spec: DenseNetSpec, input_shape: tuple, num_classes: int,
                   small_input: bool) -> keras.Model:
    """Stem, dense blocks and transitions, final BN-ReLU, global pool, `classifier`."""
    inputs = keras.Input(channels_last_shape(input_shape), name="input")  # (H, W, C)
    if spec.imagenet_stem and not small_input:
        x = norm_relu(conv(inputs, spec.stem_width, 7, 2, "features.conv0"), "features.norm0", "features.relu0")
        # zero padding acts as torch's -inf padding here: the input is >= 0 after ReLU
        x = layers.ZeroPadding2D(1, name="features.pool0.pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="features.pool0")(x)
    else:
        x = norm_relu(conv(inputs, spec.stem_width, 3, 1, "features.conv0"), "features.norm0", "features.relu0")
    for i, ((_, c_out), n_layers) in enumerate(zip(spec.block_channels(), spec.blocks)):
        x = dense_block(x, n_layers, spec.growth_rate, f"features.denseblock{i + 1}")
        if i < len(spec.blocks) - 1:
            x = transition(x, c_out, f"features.transition{i + 1}")
    x = norm_relu(x, "features.norm5", "relu")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)  # (B, C)
    outputs = layers.Dense(num_classes, name="classifier", bias_initializer="zeros",
                           kernel_initializer=linear_kernel_initializer())(x)
    return keras.Model(inputs, outputs, name=name)


def create_densenet(name: str, input_shape: tuple, num_classes: int, small_input: bool) -> keras.Model:
    """The DenseNet `DENSENETS[name]`, after checking the image is large enough."""
    check_densenet_input(name, input_shape, small_input)
    return build_densenet(name, DENSENETS[name], input_shape, num_classes, small_input)


def densenet121(input_shape: tuple, num_classes: int, *, small_input: bool) -> keras.Model:
    """DenseNet-121, k=32 (Huang et al. 2017, https://arxiv.org/abs/1608.06993)."""
    return create_densenet("densenet121", input_shape, num_classes, small_input)


def densenet_bc40(input_shape: tuple, num_classes: int) -> keras.Model:
    """DenseNet-BC for small images, depth 40, k=12 (Huang et al. 2017, https://arxiv.org/abs/1608.06993)."""
    return create_densenet("densenet_bc40", input_shape, num_classes, CIFAR_SMALL_INPUT)
