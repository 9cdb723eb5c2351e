"""LeNet-5 (PyTorch). Mirrors `modules/keras/lenet.py`."""
from __future__ import annotations

from torch import nn

from modules.catalog.lenet import LENET5_CONVS, LENET5_FC, lenet_geometry
from modules.toolkit.torch_layers import activation as make_activation


class LeNet5(nn.Module):
    """conv 6@5x5, subsample, conv 16@5x5, subsample, fc 120, fc 84, output."""

    def __init__(self, input_shape: tuple, num_classes: int, activation: str, pooling: str) -> None:
        super().__init__()
        in_channels, height, _ = input_shape
        padding, side = lenet_geometry(height)
        pool = nn.AvgPool2d if pooling == "avg" else nn.MaxPool2d
        (c1, k1), (c2, k2) = LENET5_CONVS
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, k1, padding=padding), make_activation(activation), pool(2),
            nn.Conv2d(c1, c2, k2), make_activation(activation), pool(2),
        )
        f1, f2 = LENET5_FC
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c2 * side * side, f1), make_activation(activation),
            nn.Linear(f1, f2), make_activation(activation),
            nn.Linear(f2, num_classes),
        )

    def forward(self, x):  # (B, C, H, W)
        return self.classifier(self.features(x))  # (B, num_classes) logits


def lenet5(input_shape: tuple, num_classes: int = 10, activation: str = "tanh",
           pooling: str = "avg") -> LeNet5:
    """LeNet-5 (LeCun et al. 1998, http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf)."""
    return LeNet5(input_shape, num_classes, activation, pooling)
