"""The mnist1d paper's networks (Keras). Twin of `torch_net.py`: layers named as its modules.

Weights start as torch's do (U(+-1/sqrt(fan_in)) for dense and convolution layers,
U(+-1/sqrt(H)) for every GRU weight), so the two frameworks train the same networks from the
same kind of start, as the paper's torch code does.
"""
from __future__ import annotations

import math

import keras
from keras import layers

from modules.mnist1d_paper.spec import CONV_KERNELS, CONV_PADDING, CONV_STRIDE
from modules.toolkit.keras_layers import linear_bias_initializer, linear_kernel_initializer, torch_dense


def flat_input(input_shape: tuple):
    """The input layer and the sequence as one flat vector."""
    inputs = keras.Input(tuple(input_shape), name="input")
    return inputs, layers.Flatten(name="flatten")(inputs)


def linear_base(input_shape: tuple, num_classes: int) -> keras.Model:
    """The paper's logistic regression."""
    inputs, x = flat_input(input_shape)
    logits = torch_dense(num_classes, math.prod(input_shape), name="linear")(x)
    return keras.Model(inputs, logits, name="mnist1d_linear")


def mlp_base(input_shape: tuple, num_classes: int, *, hidden_size: int) -> keras.Model:
    """The paper's MLP with its residual hidden layer."""
    inputs, x = flat_input(input_shape)
    h = layers.ReLU(name="relu1")(torch_dense(hidden_size, math.prod(input_shape), name="linear1")(x))
    branch = layers.ReLU(name="relu2")(torch_dense(hidden_size, hidden_size, name="linear2")(h))
    h = layers.Add(name="residual")([h, branch])
    return keras.Model(inputs, torch_dense(num_classes, hidden_size, name="linear3")(h), name="mnist1d_mlp")


def conv_base(input_shape: tuple, num_classes: int, *, channels: int) -> keras.Model:
    """The paper's 1-D CNN."""
    inputs, x = flat_input(input_shape)
    h = layers.Reshape((-1, 1), name="steps")(x)  # (T, 1): channels last
    widths = (1, channels, channels, channels)
    for k, kernel in enumerate(CONV_KERNELS):
        h = layers.ZeroPadding1D(CONV_PADDING, name=f"conv{k + 1}_pad")(h)
        h = layers.Conv1D(channels, kernel, strides=CONV_STRIDE, activation="relu",
                          kernel_initializer=linear_kernel_initializer(),
                          bias_initializer=linear_bias_initializer(widths[k] * kernel), name=f"conv{k + 1}")(h)
    h = layers.Flatten(name="features")(layers.Permute((2, 1), name="channels_first")(h))  # torch's (C, L)
    return keras.Model(inputs, torch_dense(num_classes, h.shape[-1], name="linear")(h), name="mnist1d_cnn")


def gru_base(input_shape: tuple, num_classes: int, *, hidden_size: int, bidirectional: bool) -> keras.Model:
    """The paper's GRU."""
    inputs, x = flat_input(input_shape)
    h = layers.Reshape((-1, 1), name="steps")(x)
    start = keras.initializers.RandomUniform(-hidden_size ** -0.5, hidden_size ** -0.5)  # nn.GRU's
    gru = layers.GRU(hidden_size, reset_after=True, return_sequences=True, kernel_initializer=start,
                     recurrent_initializer=start, bias_initializer=start, name="gru.l0")
    h = layers.Bidirectional(gru, name="gru.l0")(h) if bidirectional else gru(h)  # [forward, backward] per step
    h = layers.Flatten(name="features")(h)  # torch's (T, directions * H) order
    return keras.Model(inputs, torch_dense(num_classes, h.shape[-1], name="linear")(h), name="mnist1d_gru")
