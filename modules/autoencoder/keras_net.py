"""Autoencoders (Keras). Mirrors `modules/torch/autoencoder.py`: layers are named after the
torch module paths (`encoder.0`, `decoder.3`, ...) so weights transfer by name."""
from __future__ import annotations

import math

import keras
from keras import layers

from modules.autoencoder.spec import CONV_STAGES, MLP_HIDDEN, conv_bottleneck_side
from modules.toolkit.keras_layers import channels_last_shape


def _conv_autoencoder(inputs, input_shape: tuple, latent_dim: int, width: int):
    channels, side, _ = input_shape
    small = conv_bottleneck_side(side)
    widths = [width * m for m in CONV_STAGES]
    x, index = inputs, 0
    for w in widths:  # k4 s2 "same" pads 1 on each side, as torch's padding=1
        x = layers.Conv2D(w, 4, strides=2, padding="same", name=f"encoder.{index}")(x)
        x = layers.ReLU()(x)
        index += 2
    x = layers.Flatten()(layers.Permute((3, 1, 2))(x))  # flatten in torch's (C, H, W) order
    latent = layers.Dense(latent_dim, name=f"encoder.{index + 1}")(x)
    x = layers.ReLU()(layers.Dense(widths[-1] * small * small, name="decoder.0")(latent))
    x = layers.Permute((2, 3, 1))(layers.Reshape((widths[-1], small, small))(x))  # -> (H, W, C)
    outs = widths[-2::-1] + [channels]
    for i, w in enumerate(outs):  # "same" crops 1 of the full output each side, as torch's padding=1
        x = layers.Conv2DTranspose(w, 4, strides=2, padding="same", name=f"decoder.{3 + 2 * i}")(x)
        x = layers.ReLU()(x) if i < len(outs) - 1 else layers.Activation("sigmoid")(x)
    return x


def _mlp_autoencoder(inputs, input_shape: tuple, latent_dim: int, width: int):
    size = math.prod(input_shape)
    hidden = [width * m for m in MLP_HIDDEN]
    x = layers.Flatten()(layers.Permute((3, 1, 2))(inputs) if len(input_shape) == 3 else inputs)
    index = 1
    for h in hidden:
        x = layers.ReLU()(layers.Dense(h, name=f"encoder.{index}")(x))
        index += 2
    x = layers.Dense(latent_dim, name=f"encoder.{index}")(x)
    index = 0
    for h in hidden[::-1]:
        x = layers.ReLU()(layers.Dense(h, name=f"decoder.{index}")(x))
        index += 2
    x = layers.Activation("sigmoid")(layers.Dense(size, name=f"decoder.{index}")(x))
    x = layers.Reshape(tuple(input_shape))(x)
    return layers.Permute((2, 3, 1))(x) if len(input_shape) == 3 else x  # -> (H, W, C)


def autoencoder(input_shape: tuple, num_classes: int = 10, kind: str = "conv", latent_dim: int = 16,
                width: int = 32, loss: str = "mse") -> keras.Model:
    """A convolutional or MLP autoencoder (Hinton & Salakhutdinov 2006,
    https://doi.org/10.1126/science.1127647). `num_classes` is unused: labels only colour plots."""
    inputs = keras.Input(channels_last_shape(tuple(input_shape)))
    make = _conv_autoencoder if kind == "conv" else _mlp_autoencoder
    model = keras.Model(inputs, make(inputs, tuple(input_shape), latent_dim, width), name="autoencoder")
    model.reconstruction_loss = loss  # read by the reconstruct task
    return model


def latent_layer(model: keras.Model) -> layers.Layer:
    """The encoder's last layer, whose output is the latent code."""
    return [layer for layer in model.layers if layer.name.startswith("encoder.")][-1]
