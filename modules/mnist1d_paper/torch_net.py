"""The mnist1d paper's networks (PyTorch), as the repository's notebooks/models.py writes them.
Twin of `keras_net.py`; module names are the repository's (`linear1`, `conv1`, `gru`, ...)."""
from __future__ import annotations

import math

from torch import nn

from modules.mnist1d_paper.spec import CONV_KERNELS, CONV_PADDING, CONV_STRIDE, conv_lengths


class LinearBase(nn.Module):
    """Logistic regression: one linear layer on the 40 values."""

    def __init__(self, input_size: int, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(input_size, num_classes)

    def forward(self, x):
        return self.linear(x.flatten(1))


class MLPBase(nn.Module):
    """linear1 -> ReLU -> h + ReLU(linear2 h) -> linear3."""

    def __init__(self, input_size: int, num_classes: int, hidden_size: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(input_size, hidden_size)
        self.linear2 = nn.Linear(hidden_size, hidden_size)
        self.linear3 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h = self.linear1(x.flatten(1)).relu()
        h = h + self.linear2(h).relu()
        return self.linear3(h)


class ConvBase(nn.Module):
    """Three ReLU Conv1d layers (kernels 5, 3, 3, stride 2, padding 1), flattened -> linear."""

    def __init__(self, steps: int, num_classes: int, channels: int) -> None:
        super().__init__()
        widths = (1, channels, channels, channels)
        for k, kernel in enumerate(CONV_KERNELS):
            setattr(self, f"conv{k + 1}", nn.Conv1d(widths[k], widths[k + 1], kernel, stride=CONV_STRIDE,
                                                    padding=CONV_PADDING))
        self.linear = nn.Linear(channels * conv_lengths(steps)[-1], num_classes)

    def forward(self, x):
        h = x.reshape(x.shape[0], 1, -1)
        for conv in (self.conv1, self.conv2, self.conv3):
            h = conv(h).relu()
        return self.linear(h.flatten(1))  # (C, L) order


class GRUBase(nn.Module):
    """A (bidirectional) GRU over the steps; every step's output, flattened -> linear."""

    def __init__(self, steps: int, num_classes: int, hidden_size: int, bidirectional: bool) -> None:
        super().__init__()
        self.gru = nn.GRU(1, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.linear = nn.Linear((2 if bidirectional else 1) * hidden_size * steps, num_classes)

    def forward(self, x):
        outputs, _ = self.gru(x.reshape(x.shape[0], -1, 1))  # zero initial state, as the paper's
        return self.linear(outputs.flatten(1))  # (T, directions * H) order


def linear_base(input_shape: tuple, num_classes: int) -> nn.Module:
    """The paper's logistic regression."""
    return LinearBase(math.prod(input_shape), num_classes)


def mlp_base(input_shape: tuple, num_classes: int, *, hidden_size: int) -> nn.Module:
    """The paper's MLP with its residual hidden layer."""
    return MLPBase(math.prod(input_shape), num_classes, hidden_size)


def conv_base(input_shape: tuple, num_classes: int, *, channels: int) -> nn.Module:
    """The paper's 1-D CNN."""
    return ConvBase(math.prod(input_shape), num_classes, channels)


def gru_base(input_shape: tuple, num_classes: int, *, hidden_size: int, bidirectional: bool) -> nn.Module:
    """The paper's GRU."""
    return GRUBase(math.prod(input_shape), num_classes, hidden_size, bidirectional)
