"""Multilayer perceptron (Keras). Mirrors `modules/torch/feedforward.py`."""
from __future__ import annotations

import keras
from keras import layers

from modules.toolkit.keras_layers import activation as make_activation, channels_last_shape


# "xavier" and "he" as torch's xavier_uniform_ and kaiming_uniform_(nonlinearity="relu")
INITIALIZERS = {"default": "glorot_uniform", "xavier": "glorot_uniform", "he": "he_uniform"}


def mlp(input_shape: tuple, num_classes: int = 10, depth: int = 3, width: int = 256,
        activation: str = "relu", dropout: float = 0.2, init: str = "default") -> keras.Model:
    """Multilayer perceptron (Rumelhart, Hinton & Williams 1986)."""
    inputs = keras.Input(channels_last_shape(input_shape))
    x = inputs
    if len(input_shape) == 3:  # flatten in torch's (C, H, W) order so weights transfer 1:1
        x = layers.Permute((3, 1, 2))(x)
    x = layers.Flatten()(x)
    for i in range(depth):
        x = layers.Dense(width, kernel_initializer=INITIALIZERS[init],
                         name=f"hidden.{3 * i + 1 if dropout > 0 else 2 * i + 1}")(x)
        x = make_activation(activation)(x)
        if dropout > 0:
            x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, kernel_initializer=INITIALIZERS[init], name="head")(x)
    return keras.Model(inputs, outputs, name="mlp")
