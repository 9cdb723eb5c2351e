"""Layer plans: a stack of layers as framework-free data, built by both frameworks.

A plan is a list of tuples, one per layer, in the order of a torch
`nn.Sequential`; `modules/torch/plans.py` and `modules/keras/plans.py` turn it
into layers, and the Keras layer of entry i is named `<prefix>.<i>` like the
torch module it mirrors, so weights transfer by name. Entries:

    ("conv", out_channels, kernel, stride, padding[, bias])   2-D convolution, with bias by default
    ("bn"[, eps])                                       batch norm (eps 1e-5 by default, torch's)
    ("relu",)
    ("lrn", {"size", "alpha", "beta", "k"})             local response norm, torch's formula
    ("maxpool", kernel, stride[, padding[, ceil_mode]])  padding 0 and floor mode by default
    ("dropout", rate)
    ("flatten",)                                         in torch's (C, H, W) order
    ("linear", out_features)
"""
from __future__ import annotations

BN_EPSILON = 1e-5  # torch's default; Keras's is 1e-3
BN_MOMENTUM = 0.1  # torch's convention: new = (1 - m) * old + m * batch (Keras: momentum 0.9)


def has_weights(entry: tuple) -> bool:
    """Whether a plan entry owns weights (and so needs a name on the Keras side)."""
    return entry[0] in ("conv", "bn", "linear")
