"""DCGAN (PyTorch). Twin of `keras_net.py`.

Every module is named (`generator.deconv0`, `generator.bn0`, ..., `discriminator.conv0`, ...)
and the Keras layers carry the same names, so weights transfer by name.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from modules.gan.spec import DCGAN_INIT_STD, DCGAN_LEAKY_SLOPE, dcgan_stages, generator_channels
from modules.toolkit.torch_layers import batch_norm


class DCGAN(nn.Module):
    """A generator (noise -> image in [-1, 1]) and a discriminator (image -> real/fake logit)."""

    # the sub-networks `modules.convert.parity` compares, each with its own single input
    parity_parts = ("generator", "discriminator")

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent_dim: int) -> None:
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = latent_dim

    def forward(self, z, images):  # (B, latent_dim), (B, C, H, W) -> (B, C, H, W), (B, 1)
        return self.generator(z), self.discriminator(images)


def generator(channels: int, side: int, latent_dim: int, width: int) -> nn.Sequential:
    """Noise (B, latent_dim) -> image (B, C, side, side) in [-1, 1]."""
    widths = generator_channels(width, dcgan_stages(side))
    layers = OrderedDict(unflatten=nn.Unflatten(1, (latent_dim, 1, 1)))
    # "project and reshape": 1x1 -> 4x4
    layers["deconv0"] = nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False)
    layers["bn0"], layers["relu0"] = batch_norm(widths[0]), nn.ReLU()
    for i, (w_in, w_out) in enumerate(zip(widths, widths[1:]), start=1):  # fractionally strided: side doubles
        layers[f"deconv{i}"] = nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False)
        layers[f"bn{i}"], layers[f"relu{i}"] = batch_norm(w_out), nn.ReLU()
    layers[f"deconv{len(widths)}"] = nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1)
    layers["tanh"] = nn.Tanh()
    return nn.Sequential(layers)


def discriminator(channels: int, side: int, width: int) -> nn.Sequential:
    """Image (B, C, side, side) -> real/fake logit (B, 1)."""
    widths = generator_channels(width, dcgan_stages(side))[::-1]  # mirror of the generator
    layers = OrderedDict(conv0=nn.Conv2d(channels, widths[0], 4, 2, 1),  # no batch norm on the input
                         lrelu0=nn.LeakyReLU(DCGAN_LEAKY_SLOPE))
    for i, (w_in, w_out) in enumerate(zip(widths, widths[1:]), start=1):  # strided: side halves
        layers[f"conv{i}"] = nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False)
        layers[f"bn{i}"], layers[f"lrelu{i}"] = batch_norm(w_out), nn.LeakyReLU(DCGAN_LEAKY_SLOPE)
    layers[f"conv{len(widths)}"] = nn.Conv2d(widths[-1], 1, 4, 1, 0)  # 4x4 -> one logit
    layers["flatten"] = nn.Flatten()
    return nn.Sequential(layers)


def init_weights(module: nn.Module) -> None:
    """The paper's initialisation: weights from N(0, 0.02); batch-norm scales from N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, DCGAN_INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, DCGAN_INIT_STD)
        nn.init.zeros_(module.bias)


def dcgan(input_shape: tuple, num_classes: int, *, latent_dim: int, width: int) -> DCGAN:
    """DCGAN (Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434) for
    `input_shape` images; `num_classes` is unused (the GAN is unconditional)."""
    channels, side, _ = input_shape
    model = DCGAN(generator(channels, side, latent_dim, width), discriminator(channels, side, width),
                  latent_dim)
    with torch.no_grad():
        model.apply(init_weights)
    return model
