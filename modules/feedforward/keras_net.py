"""Multilayer perceptron (Keras). Twin of `torch_net.py` (and of `numpy_net.py`, from scratch).

Every layer is named as the torch module it mirrors (`flatten`, `hidden.0.linear`,
`hidden.0.activation`, ..., `head`), so weights transfer by name.
"""
from __future__ import annotations

import keras
from keras import layers

from modules.feedforward.spec import hidden_widths
from modules.toolkit.keras_layers import activation as make_activation, channels_last_shape

# "xavier" and "he" as torch's xavier_uniform_ and kaiming_uniform_(nonlinearity="relu"), zero
# biases; "default" keeps Keras's own (Glorot uniform kernels, zero biases)
INITIALIZERS = {"default": "glorot_uniform", "xavier": "glorot_uniform", "he": "he_uniform"}


def hidden_block(x, name: str, width: int, activation: str, dropout: float, init: str):
    """One hidden layer: `linear`, `activation`, then `dropout` when `dropout` > 0."""
    x = dense(width, init, name=f"{name}.linear")(x)
    x = make_activation(activation, f"{name}.activation")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name=f"{name}.dropout")(x)
    return x


def dense(units: int, init: str, name: str) -> layers.Dense:
    """A dense layer with weights as `init` says (see `modules/feedforward/spec.py`)."""
    return layers.Dense(units, kernel_initializer=INITIALIZERS[init], name=name)


def mlp(input_shape: tuple, num_classes: int, *, depth: int, width: int, widths: str | None, activation: str,
        dropout: float, init: str) -> keras.Model:
    """Multilayer perceptron (Rumelhart, Hinton & Williams 1986, https://doi.org/10.1038/323533a0)."""
    inputs = keras.Input(channels_last_shape(tuple(input_shape)), name="input")
    x = inputs
    if len(input_shape) == 3:  # flatten in torch's (C, H, W) order so weights transfer 1:1
        x = layers.Permute((3, 1, 2), name="channels_first")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(hidden_widths(depth, width, widths)):
        x = hidden_block(x, f"hidden.{i}", units, activation, dropout, init)
    outputs = dense(num_classes, init, name="head")(x)
    return keras.Model(inputs, outputs, name="mlp")
