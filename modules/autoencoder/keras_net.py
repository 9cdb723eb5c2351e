"""Autoencoders (Keras). Twin of `torch_net.py`: every layer is named as the torch module it
mirrors (`encoder.conv0`, `encoder.latent`, `decoder.project`, `decoder.deconv0`, ...; the
MLP's `encoder.dense0`, ..., `decoder.output`), so weights transfer by name."""
from __future__ import annotations

import math

import keras
from keras import layers

from modules.autoencoder.spec import CONV_STAGES, MLP_HIDDEN, conv_bottleneck_side
from modules.toolkit.keras_layers import channels_last_shape


def conv_autoencoder(inputs, input_shape: tuple, latent_dim: int, width: int):
    """The reconstruction of `inputs`: stride-2 convolutions down to a dense latent code, and back."""
    channels, side, _ = input_shape
    small = conv_bottleneck_side(side)
    widths = [width * m for m in CONV_STAGES]
    x = inputs
    for i, w in enumerate(widths):  # k4 s2 "same" pads 1 on each side, as torch's padding=1
        x = layers.Conv2D(w, 4, strides=2, padding="same", name=f"encoder.conv{i}")(x)
        x = layers.ReLU(name=f"encoder.relu{i}")(x)
    x = layers.Permute((3, 1, 2), name="encoder.channels_first")(x)
    x = layers.Flatten(name="encoder.flatten")(x)  # (C, H, W) order
    x = layers.Dense(latent_dim, name="encoder.latent")(x)
    x = layers.Dense(widths[-1] * small * small, name="decoder.project")(x)
    x = layers.ReLU(name="decoder.relu")(x)
    x = layers.Reshape((widths[-1], small, small), name="decoder.unflatten")(x)
    x = layers.Permute((2, 3, 1), name="decoder.channels_last")(x)  # -> (H, W, C)
    outs = widths[-2::-1] + [channels]
    for i, w in enumerate(outs):  # "same" crops 1 of the full output each side, as torch's padding=1
        x = layers.Conv2DTranspose(w, 4, strides=2, padding="same", name=f"decoder.deconv{i}")(x)
        if i < len(outs) - 1:
            x = layers.ReLU(name=f"decoder.relu{i}")(x)
    return layers.Activation("sigmoid", name="decoder.sigmoid")(x)


def mlp_autoencoder(inputs, input_shape: tuple, latent_dim: int, width: int):
    """The reconstruction of `inputs`: dense layers down to the latent code, and back."""
    size = math.prod(input_shape)
    hidden = [width * m for m in MLP_HIDDEN]
    x = inputs
    if len(input_shape) == 3:
        x = layers.Permute((3, 1, 2), name="encoder.channels_first")(x)
    x = layers.Flatten(name="encoder.flatten")(x)  # (C, H, W) order
    for i, h in enumerate(hidden):
        x = layers.Dense(h, name=f"encoder.dense{i}")(x)
        x = layers.ReLU(name=f"encoder.relu{i}")(x)
    x = layers.Dense(latent_dim, name="encoder.latent")(x)
    for i, h in enumerate(hidden[::-1]):
        x = layers.Dense(h, name=f"decoder.dense{i}")(x)
        x = layers.ReLU(name=f"decoder.relu{i}")(x)
    x = layers.Dense(size, name="decoder.output")(x)
    x = layers.Activation("sigmoid", name="decoder.sigmoid")(x)
    x = layers.Reshape(tuple(input_shape), name="decoder.unflatten")(x)
    if len(input_shape) == 3:
        x = layers.Permute((2, 3, 1), name="decoder.channels_last")(x)  # -> (H, W, C)
    return x


def autoencoder(input_shape: tuple, num_classes: int, *, kind: str, latent_dim: int, width: int,
                loss: str) -> keras.Model:
    """A convolutional or MLP autoencoder (Hinton & Salakhutdinov 2006,
    https://doi.org/10.1126/science.1127647). `num_classes` is unused: labels only colour plots."""
    inputs = keras.Input(channels_last_shape(tuple(input_shape)), name="input")
    make = conv_autoencoder if kind == "conv" else mlp_autoencoder
    model = keras.Model(inputs, make(inputs, tuple(input_shape), latent_dim, width), name="autoencoder")
    model.reconstruction_loss = loss  # read by the reconstruct task
    return model


def latent_layer(model: keras.Model) -> layers.Layer:
    """The encoder's last layer, whose output is the latent code."""
    return model.get_layer("encoder.latent")
