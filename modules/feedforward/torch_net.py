"""Multilayer perceptron (PyTorch). Twin of `keras_net.py` (and of `numpy_net.py`, from scratch).

Every module is named (`flatten`, `hidden.0.linear`, `hidden.0.activation`, ..., `head`) and
the Keras layers and NumPy parameters carry the same names, so weights move between the
three by name: inserting a layer renames nothing else.
"""
from __future__ import annotations

import math
from collections import OrderedDict

from torch import nn

from modules.feedforward.spec import hidden_widths
from modules.toolkit.torch_layers import activation as make_activation


def hidden_block(in_features: int, width: int, activation: str, dropout: float, init: str) -> nn.Sequential:
    """One hidden layer: `linear`, `activation`, then `dropout` when `dropout` > 0."""
    block = OrderedDict(linear=dense(in_features, width, init), activation=make_activation(activation))
    if dropout > 0:
        block["dropout"] = nn.Dropout(dropout)
    return nn.Sequential(block)


def dense(in_features: int, out_features: int, init: str) -> nn.Linear:
    """A linear layer with weights as `init` says (see `modules/feedforward/spec.py`)."""
    layer = nn.Linear(in_features, out_features)
    if init == "xavier":  # Glorot uniform, zero biases
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
    elif init == "he":  # He uniform (fan-in, relu gain): U(+-sqrt(6 / fan_in)), zero biases
        nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias)
    return layer


class MLP(nn.Module):
    """Hidden dense layers (`widths`, else `depth` of `width` units), then a linear output (logits)."""

    def __init__(self, input_shape: tuple, num_classes: int, *, depth: int, width: int, widths: str | None,
                 activation: str, dropout: float, init: str) -> None:
        super().__init__()
        self.flatten = nn.Flatten()  # (C, H, W) order
        in_features = math.prod(input_shape)
        blocks = []
        for units in hidden_widths(depth, width, widths):
            blocks.append(hidden_block(in_features, units, activation, dropout, init))
            in_features = units
        self.hidden = nn.Sequential(*blocks)
        self.head = dense(in_features, num_classes, init)

    def forward(self, x):
        return self.head(self.hidden(self.flatten(x)))  # (B, num_classes) logits


def mlp(input_shape: tuple, num_classes: int, *, depth: int, width: int, widths: str | None, activation: str,
        dropout: float, init: str) -> MLP:
    """Multilayer perceptron (Rumelhart, Hinton & Williams 1986, https://doi.org/10.1038/323533a0)."""
    return MLP(tuple(input_shape), num_classes, depth=depth, width=width, widths=widths,
               activation=activation, dropout=dropout, init=init)
