"""Autoencoders (PyTorch). Mirrors `modules/keras/autoencoder.py`."""
from __future__ import annotations

import math

from torch import nn

from modules.autoencoder.spec import CONV_STAGES, MLP_HIDDEN, conv_bottleneck_side


class Autoencoder(nn.Module):
    """`encoder` maps an image to a latent code, `decoder` maps it back to pixels in [0, 1]."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, latent_dim: int, loss: str) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = latent_dim
        self.reconstruction_loss = loss  # read by the reconstruct task

    def encode(self, x):  # (B, C, H, W) -> (B, latent_dim)
        return self.encoder(x)

    def forward(self, x):  # (B, C, H, W) -> (B, C, H, W) in [0, 1]
        return self.decoder(self.encoder(x))


def _conv_autoencoder(input_shape: tuple, latent_dim: int, width: int) -> tuple[nn.Module, nn.Module]:
    channels, side, _ = input_shape
    small = conv_bottleneck_side(side)
    widths = [width * m for m in CONV_STAGES]
    encoder, previous = [], channels
    for w in widths:  # each stage halves the side: k4 s2 p1
        encoder += [nn.Conv2d(previous, w, 4, stride=2, padding=1), nn.ReLU()]
        previous = w
    encoder += [nn.Flatten(), nn.Linear(previous * small * small, latent_dim)]
    decoder = [nn.Linear(latent_dim, previous * small * small), nn.ReLU(),
               nn.Unflatten(1, (previous, small, small))]
    for w in widths[-2::-1] + [channels]:  # each stage doubles the side
        decoder += [nn.ConvTranspose2d(previous, w, 4, stride=2, padding=1), nn.ReLU()]
        previous = w
    decoder[-1] = nn.Sigmoid()
    return nn.Sequential(*encoder), nn.Sequential(*decoder)


def _mlp_autoencoder(input_shape: tuple, latent_dim: int, width: int) -> tuple[nn.Module, nn.Module]:
    size = math.prod(input_shape)
    hidden = [width * m for m in MLP_HIDDEN]
    encoder, previous = [nn.Flatten()], size
    for h in hidden:
        encoder += [nn.Linear(previous, h), nn.ReLU()]
        previous = h
    encoder += [nn.Linear(previous, latent_dim)]
    decoder, previous = [], latent_dim
    for h in hidden[::-1]:
        decoder += [nn.Linear(previous, h), nn.ReLU()]
        previous = h
    decoder += [nn.Linear(previous, size), nn.Sigmoid(), nn.Unflatten(1, tuple(input_shape))]
    return nn.Sequential(*encoder), nn.Sequential(*decoder)


def autoencoder(input_shape: tuple, num_classes: int = 10, kind: str = "conv", latent_dim: int = 16,
                width: int = 32, loss: str = "mse") -> Autoencoder:
    """A convolutional or MLP autoencoder (Hinton & Salakhutdinov 2006,
    https://doi.org/10.1126/science.1127647). `num_classes` is unused: labels only colour plots."""
    make = _conv_autoencoder if kind == "conv" else _mlp_autoencoder
    encoder, decoder = make(tuple(input_shape), latent_dim, width)
    return Autoencoder(encoder, decoder, latent_dim, loss)
