"""Densely connected networks (Keras). Mirrors `modules/torch/densenet.py`.

Weighted layers are named after the torch module paths (`features.conv0`,
`features.denseblock1.denselayer1.norm1`, `features.transition1.conv`,
`features.norm5`, `classifier`) so weights transfer by name.
"""
from __future__ import annotations

import keras
from keras import layers

from modules.catalog.densenet import BOTTLENECK_FACTOR, DENSENETS, DenseNetSpec, check_densenet_input
from modules.toolkit.keras_layers import channels_last_shape
from modules.keras.resnet import BN_EPSILON, BN_MOMENTUM


def conv(x, filters: int, kernel: int, name: str, stride: int = 1):
    """A bias-free convolution initialised as torchvision's DenseNet (kaiming normal, fan in)."""
    if stride > 1:  # pad as torch does (k//2 each side), not as Keras's "same" does
        x = layers.ZeroPadding2D(kernel // 2)(x)
    return layers.Conv2D(filters, kernel, strides=stride, padding="same" if stride == 1 else "valid",
                         use_bias=False, name=name,
                         kernel_initializer=keras.initializers.VarianceScaling(2.0, "fan_in", "untruncated_normal"))(x)


def bn_relu(x, name: str):
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)(x)
    return layers.ReLU()(x)


def dense_layer(x, growth_rate: int, name: str):
    """BN-ReLU-1x1 conv (4k channels), BN-ReLU-3x3 conv (k channels): the new features only."""
    out = conv(bn_relu(x, f"{name}.norm1"), BOTTLENECK_FACTOR * growth_rate, 1, f"{name}.conv1")
    return conv(bn_relu(out, f"{name}.norm2"), growth_rate, 3, f"{name}.conv2")


def dense_block(x, n_layers: int, growth_rate: int, name: str):
    """Each layer is fed the concatenation of the block input and all earlier outputs."""
    features = [x]
    for i in range(n_layers):
        joined = features[0] if len(features) == 1 else layers.Concatenate()(features)
        features.append(dense_layer(joined, growth_rate, f"{name}.denselayer{i + 1}"))
    return layers.Concatenate()(features)  # (B, H, W, C + n_layers * k)


def transition(x, out_channels: int, name: str):
    """BN-ReLU-1x1 conv to the compressed width, then a 2x2 average pool."""
    x = conv(bn_relu(x, f"{name}.norm"), out_channels, 1, f"{name}.conv")
    return layers.AveragePooling2D(2, strides=2)(x)


def build_densenet(name: str, spec: DenseNetSpec, input_shape: tuple, num_classes: int,
                   small_input: bool = True) -> keras.Model:
    """Stem, dense blocks and transitions, final BN-ReLU, global pool, `classifier`."""
    inputs = keras.Input(channels_last_shape(input_shape))  # (H, W, C)
    if spec.imagenet_stem and not small_input:
        x = bn_relu(conv(inputs, spec.stem_width, 7, "features.conv0", stride=2), "features.norm0")
        # zero padding acts as torch's -inf padding here: the input is >= 0 after ReLU
        x = layers.MaxPooling2D(3, strides=2)(layers.ZeroPadding2D(1)(x))
    else:
        x = bn_relu(conv(inputs, spec.stem_width, 3, "features.conv0"), "features.norm0")
    for i, ((_, c_out), n_layers) in enumerate(zip(spec.block_channels(), spec.blocks)):
        x = dense_block(x, n_layers, spec.growth_rate, f"features.denseblock{i + 1}")
        if i < len(spec.blocks) - 1:
            x = transition(x, c_out, f"features.transition{i + 1}")
    x = layers.GlobalAveragePooling2D()(bn_relu(x, "features.norm5"))  # (B, C)
    width = spec.block_channels()[-1][1]
    outputs = layers.Dense(num_classes, name="classifier", bias_initializer="zeros",
                           kernel_initializer=keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform"))(x)
    return keras.Model(inputs, outputs, name=name)


def densenet121(input_shape: tuple, num_classes: int = 10, small_input: bool = True) -> keras.Model:
    """DenseNet-121, k=32 (Huang et al. 2017, https://arxiv.org/abs/1608.06993)."""
    check_densenet_input("densenet121", input_shape, small_input)
    return build_densenet("densenet121", DENSENETS["densenet121"], input_shape, num_classes, small_input)


def densenet_bc40(input_shape: tuple, num_classes: int = 10) -> keras.Model:
    """DenseNet-BC for small images, depth 40, k=12 (Huang et al. 2017, https://arxiv.org/abs/1608.06993)."""
    check_densenet_input("densenet_bc40", input_shape)
    return build_densenet("densenet_bc40", DENSENETS["densenet_bc40"], input_shape, num_classes)
