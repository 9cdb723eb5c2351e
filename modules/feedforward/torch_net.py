"""Multilayer perceptron (PyTorch). Mirrors `modules/keras/feedforward.py`."""
from __future__ import annotations

import math

from torch import nn

from modules.toolkit.torch_layers import activation as make_activation


class MLP(nn.Module):
    """`depth` hidden dense layers of `width` units, then a linear output (logits)."""

    def __init__(self, input_shape: tuple, num_classes: int, depth: int, width: int,
                 activation: str, dropout: float, init: str = "default") -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        in_features = math.prod(input_shape)
        for i in range(depth):
            layers += [nn.Linear(in_features, width), make_activation(activation)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_features = width
        self.hidden = nn.Sequential(*layers)
        self.head = nn.Linear(in_features, num_classes)
        if init != "default":
            for layer in self.modules():
                if isinstance(layer, nn.Linear):
                    initialise(layer, init)

    def forward(self, x):
        return self.head(self.hidden(x))  # (B, num_classes) logits


def initialise(layer: nn.Linear, init: str) -> None:
    """Glorot ("xavier") or He ("he", fan-in, relu gain) uniform weights and zero biases."""
    if init == "xavier":
        nn.init.xavier_uniform_(layer.weight)
    else:
        nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")  # U(+-sqrt(6 / fan_in))
    nn.init.zeros_(layer.bias)


def mlp(input_shape: tuple, num_classes: int = 10, depth: int = 3, width: int = 256,
        activation: str = "relu", dropout: float = 0.2, init: str = "default") -> MLP:
    """Multilayer perceptron (Rumelhart, Hinton & Williams 1986)."""
    return MLP(input_shape, num_classes, depth, width, activation, dropout, init)
