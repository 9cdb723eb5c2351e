"""DCGAN (PyTorch). Mirrors `modules/keras/gan.py`."""
from __future__ import annotations

import torch
from torch import nn

from modules.gan.spec import DCGAN_INIT_STD, DCGAN_LEAKY_SLOPE, dcgan_stages, generator_channels


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


def _generator(channels: int, side: int, latent_dim: int, width: int) -> nn.Sequential:
    widths = generator_channels(width, dcgan_stages(side))
    layers = [nn.Unflatten(1, (latent_dim, 1, 1)),  # "project and reshape": 1x1 -> 4x4
              nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False),
              nn.BatchNorm2d(widths[0]), nn.ReLU()]
    for w_in, w_out in zip(widths, widths[1:]):  # fractionally strided: side doubles
        layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU()]
    layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers)


def _discriminator(channels: int, side: int, width: int) -> nn.Sequential:
    widths = generator_channels(width, dcgan_stages(side))[::-1]  # mirror of the generator
    layers = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(DCGAN_LEAKY_SLOPE)]  # no BN on input
    for w_in, w_out in zip(widths, widths[1:]):  # strided: side halves
        layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out),
                   nn.LeakyReLU(DCGAN_LEAKY_SLOPE)]
    layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0), nn.Flatten()]  # 4x4 -> one logit
    return nn.Sequential(*layers)


def _init_weights(module: nn.Module) -> None:
    """The paper's initialisation: weights from N(0, 0.02); batch-norm scales from N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, DCGAN_INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, DCGAN_INIT_STD)
        nn.init.zeros_(module.bias)


def dcgan(input_shape: tuple, num_classes: int = 10, latent_dim: int = 100, width: int = 64) -> DCGAN:
    """DCGAN (Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434) for
    `input_shape` images; `num_classes` is unused (the GAN is unconditional)."""
    channels, side, _ = input_shape
    model = DCGAN(_generator(channels, side, latent_dim, width), _discriminator(channels, side, width),
                  latent_dim)
    with torch.no_grad():
        model.apply(_init_weights)
    return model
