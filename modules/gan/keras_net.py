"""DCGAN (Keras). Mirrors `modules/torch/gan.py`: the generator and discriminator are nested
models named `generator` and `discriminator`, their layers named after the torch module paths."""
from __future__ import annotations

import keras
from keras import layers

from modules.gan.spec import (BN_EPSILON, BN_MOMENTUM_TORCH, DCGAN_INIT_STD, DCGAN_LEAKY_SLOPE,
                                 dcgan_stages, generator_channels)
from modules.toolkit.keras_layers import channels_last_shape


def _weights() -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(0.0, DCGAN_INIT_STD)


def _batch_norm(name: str) -> layers.Layer:
    return layers.BatchNormalization(momentum=1 - BN_MOMENTUM_TORCH, epsilon=BN_EPSILON, name=name,
                                     gamma_initializer=keras.initializers.RandomNormal(1.0, DCGAN_INIT_STD))


def _generator(channels: int, side: int, latent_dim: int, width: int) -> keras.Model:
    widths = generator_channels(width, dcgan_stages(side))
    z = keras.Input((latent_dim,))
    x = layers.Reshape((1, 1, latent_dim))(z)  # "project and reshape": 1x1 -> 4x4
    x = layers.Conv2DTranspose(widths[0], 4, padding="valid", use_bias=False,
                               kernel_initializer=_weights(), name="generator.1")(x)
    x = layers.ReLU()(_batch_norm("generator.2")(x))
    index = 4
    for w_out in widths[1:]:  # fractionally strided: side doubles ("same" = torch's padding=1)
        x = layers.Conv2DTranspose(w_out, 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=_weights(), name=f"generator.{index}")(x)
        x = layers.ReLU()(_batch_norm(f"generator.{index + 1}")(x))
        index += 3
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", kernel_initializer=_weights(),
                               name=f"generator.{index}")(x)
    return keras.Model(z, layers.Activation("tanh")(x), name="generator")


def _discriminator(input_shape: tuple, width: int) -> keras.Model:
    channels, side, _ = input_shape
    widths = generator_channels(width, dcgan_stages(side))[::-1]
    images = keras.Input(channels_last_shape(input_shape))
    x = layers.Conv2D(widths[0], 4, strides=2, padding="same", kernel_initializer=_weights(),
                      name="discriminator.0")(images)  # no batch norm on the input layer
    x = layers.LeakyReLU(negative_slope=DCGAN_LEAKY_SLOPE)(x)
    index = 2
    for w_out in widths[1:]:  # strided: side halves ("same" = torch's padding=1)
        x = layers.Conv2D(w_out, 4, strides=2, padding="same", use_bias=False,
                          kernel_initializer=_weights(), name=f"discriminator.{index}")(x)
        x = _batch_norm(f"discriminator.{index + 1}")(x)
        x = layers.LeakyReLU(negative_slope=DCGAN_LEAKY_SLOPE)(x)
        index += 3
    x = layers.Conv2D(1, 4, padding="valid", kernel_initializer=_weights(),
                      name=f"discriminator.{index}")(x)  # 4x4 -> one logit
    return keras.Model(images, layers.Flatten()(x), name="discriminator")


def dcgan(input_shape: tuple, num_classes: int = 10, latent_dim: int = 100, width: int = 64) -> keras.Model:
    """DCGAN (Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434) for
    `input_shape` images; `num_classes` is unused (the GAN is unconditional).

    One model of two inputs and two outputs, (z, images) -> (G(z), D(images)), holding the
    nested `generator` and `discriminator` that the generate task trains in turn.
    """
    channels, side, _ = input_shape
    generator = _generator(channels, side, latent_dim, width)
    discriminator = _discriminator(tuple(input_shape), width)
    z = keras.Input((latent_dim,), name="z")
    images = keras.Input(channels_last_shape(tuple(input_shape)), name="images")
    return keras.Model([z, images], [generator(z), discriminator(images)], name="dcgan")
