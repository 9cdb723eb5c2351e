"""Autoencoders (PyTorch). Twin of `keras_net.py`.

Every module is named (`encoder.conv0`, `encoder.latent`, `decoder.project`, `decoder.deconv0`,
...; the MLP's `encoder.dense0`, ..., `decoder.output`) and the Keras layers carry the same
names, so weights transfer by name.
"""
from __future__ import annotations

import math
from collections import OrderedDict

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


def conv_autoencoder(input_shape: tuple, latent_dim: int, width: int) -> tuple[nn.Module, nn.Module]:
    """(encoder, decoder): stride-2 convolutions down to a dense latent code, and back."""
    channels, side, _ = input_shape
    small = conv_bottleneck_side(side)
    widths = [width * m for m in CONV_STAGES]
    encoder, previous = OrderedDict(), channels
    for i, w in enumerate(widths):  # each stage halves the side: k4 s2 p1
        encoder[f"conv{i}"] = nn.Conv2d(previous, w, 4, stride=2, padding=1)
        encoder[f"relu{i}"] = nn.ReLU()
        previous = w
    encoder["flatten"] = nn.Flatten()  # (C, H, W) order
    encoder["latent"] = nn.Linear(previous * small * small, latent_dim)
    decoder = OrderedDict(project=nn.Linear(latent_dim, previous * small * small), relu=nn.ReLU(),
                          unflatten=nn.Unflatten(1, (previous, small, small)))
    outs = widths[-2::-1] + [channels]
    for i, w in enumerate(outs):  # each stage doubles the side
        decoder[f"deconv{i}"] = nn.ConvTranspose2d(previous, w, 4, stride=2, padding=1)
        if i < len(outs) - 1:
            decoder[f"relu{i}"] = nn.ReLU()
        previous = w
    decoder["sigmoid"] = nn.Sigmoid()
    return nn.Sequential(encoder), nn.Sequential(decoder)


def mlp_autoencoder(input_shape: tuple, latent_dim: int, width: int) -> tuple[nn.Module, nn.Module]:
    """(encoder, decoder): dense layers down to the latent code, and back."""
    size = math.prod(input_shape)
    hidden = [width * m for m in MLP_HIDDEN]
    encoder, previous = OrderedDict(flatten=nn.Flatten()), size
    for i, h in enumerate(hidden):
        encoder[f"dense{i}"] = nn.Linear(previous, h)
        encoder[f"relu{i}"] = nn.ReLU()
        previous = h
    encoder["latent"] = nn.Linear(previous, latent_dim)
    decoder, previous = OrderedDict(), latent_dim
    for i, h in enumerate(hidden[::-1]):
        decoder[f"dense{i}"] = nn.Linear(previous, h)
        decoder[f"relu{i}"] = nn.ReLU()
        previous = h
    decoder["output"] = nn.Linear(previous, size)
    decoder["sigmoid"] = nn.Sigmoid()
    decoder["unflatten"] = nn.Unflatten(1, tuple(input_shape))
    return nn.Sequential(encoder), nn.Sequential(decoder)


def autoencoder(input_shape: tuple, num_classes: int, *, kind: str, latent_dim: int, width: int,
                loss: str) -> Autoencoder:
    """A convolutional or MLP autoencoder (Hinton & Salakhutdinov 2006,
    https://doi.org/10.1126/science.1127647). `num_classes` is unused: labels only colour plots."""
    make = conv_autoencoder if kind == "conv" else mlp_autoencoder
    encoder, decoder = make(tuple(input_shape), latent_dim, width)
    return Autoencoder(encoder, decoder, latent_dim, loss)
