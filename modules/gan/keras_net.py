"""DCGAN (Keras). Twin of `torch_net.py`: the generator and discriminator are nested models
named `generator` and `discriminator`, each layer named as the torch module it mirrors
(`generator.deconv0`, `generator.bn0`, ..., `discriminator.conv0`, ...)."""
from __future__ import annotations

import keras
from keras import layers

from modules.gan.spec import DCGAN_INIT_STD, DCGAN_LEAKY_SLOPE, dcgan_stages, generator_channels
from modules.toolkit import keras_layers
from modules.toolkit.keras_layers import channels_last_shape


def batch_norm(name: str) -> layers.BatchNormalization:
    """torch's batch norm (the toolkit's conversion), scales drawn from N(1, 0.02) as DCGAN's."""
    return keras_layers.batch_norm(name, gamma_initializer=keras.initializers.RandomNormal(1.0, DCGAN_INIT_STD))


def generator(channels: int, side: int, latent_dim: int, width: int) -> keras.Model:
    """Noise (B, latent_dim) -> image (B, side, side, C) in [-1, 1]."""
    widths = generator_channels(width, dcgan_stages(side))
    z = keras.Input((latent_dim,), name="generator.z")
    x = layers.Reshape((1, 1, latent_dim), name="generator.unflatten")(z)
    # "project and reshape": 1x1 -> 4x4
    x = layers.Conv2DTranspose(widths[0], 4, padding="valid", use_bias=False,
                               kernel_initializer=init_weights(), name="generator.deconv0")(x)
    x = layers.ReLU(name="generator.relu0")(batch_norm("generator.bn0")(x))
    for i, w_out in enumerate(widths[1:], start=1):  # fractionally strided: side doubles ("same" = padding=1)
        x = layers.Conv2DTranspose(w_out, 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=init_weights(), name=f"generator.deconv{i}")(x)
        x = layers.ReLU(name=f"generator.relu{i}")(batch_norm(f"generator.bn{i}")(x))
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", kernel_initializer=init_weights(),
                               name=f"generator.deconv{len(widths)}")(x)
    return keras.Model(z, layers.Activation("tanh", name="generator.tanh")(x), name="generator")


def discriminator(channels: int, side: int, width: int) -> keras.Model:
    """Image (B, side, side, C) -> real/fake logit (B, 1)."""
    widths = generator_channels(width, dcgan_stages(side))[::-1]  # mirror of the generator
    images = keras.Input(channels_last_shape((channels, side, side)), name="discriminator.images")
    x = layers.Conv2D(widths[0], 4, strides=2, padding="same", kernel_initializer=init_weights(),
                      name="discriminator.conv0")(images)  # no batch norm on the input
    x = layers.LeakyReLU(negative_slope=DCGAN_LEAKY_SLOPE, name="discriminator.lrelu0")(x)
    for i, w_out in enumerate(widths[1:], start=1):  # strided: side halves ("same" = padding=1)
        x = layers.Conv2D(w_out, 4, strides=2, padding="same", use_bias=False,
                          kernel_initializer=init_weights(), name=f"discriminator.conv{i}")(x)
        x = batch_norm(f"discriminator.bn{i}")(x)
        x = layers.LeakyReLU(negative_slope=DCGAN_LEAKY_SLOPE, name=f"discriminator.lrelu{i}")(x)
    x = layers.Conv2D(1, 4, padding="valid", kernel_initializer=init_weights(),
                      name=f"discriminator.conv{len(widths)}")(x)  # 4x4 -> one logit
    return keras.Model(images, layers.Flatten(name="discriminator.flatten")(x), name="discriminator")


def init_weights() -> keras.initializers.Initializer:
    """The paper's initialisation: weights from N(0, 0.02) (batch-norm scales: `batch_norm`)."""
    return keras.initializers.RandomNormal(0.0, DCGAN_INIT_STD)


def dcgan(input_shape: tuple, num_classes: int, *, latent_dim: int, width: int) -> keras.Model:
    """DCGAN (Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434) for
    `input_shape` images; `num_classes` is unused (the GAN is unconditional).

    One model of two inputs and two outputs, (z, images) -> (G(z), D(images)), holding the
    nested `generator` and `discriminator` that the generate task trains in turn.
    """
    channels, side, _ = input_shape
    g = generator(channels, side, latent_dim, width)
    d = discriminator(channels, side, width)
    z = keras.Input((latent_dim,), name="z")
    images = keras.Input(channels_last_shape(tuple(input_shape)), name="images")
    return keras.Model([z, images], [g(z), d(images)], name="dcgan")
