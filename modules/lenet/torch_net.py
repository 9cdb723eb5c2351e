"""LeNet-5 (PyTorch). Mirrors `keras_net.py`; both build the plans of `spec.py`."""
from __future__ import annotations

from torch import nn

from modules.lenet.spec import LENET5_CONVS, classifier_layers, feature_layers, feature_size
from modules.toolkit.torch_plans import build_plan


class LeNet5(nn.Module):
    """conv 6@5x5, subsample, conv 16@5x5, subsample, fc 120, fc 84, output."""

    def __init__(self, input_shape: tuple, num_classes: int, activation: str, pooling: str) -> None:
        super().__init__()
        in_channels, height, _ = input_shape
        self.features = build_plan(feature_layers(height, pooling), in_channels, activation=activation)
        self.classifier = build_plan(classifier_layers(num_classes), LENET5_CONVS[-1][0],
                                     in_features=feature_size(height), activation=activation)

    def forward(self, x):  # (B, C, H, W)
        return self.classifier(self.features(x))  # (B, num_classes) logits


def lenet5(input_shape: tuple, num_classes: int, *, activation: str, pooling: str) -> LeNet5:
    """LeNet-5 (LeCun et al. 1998, http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf)."""
    return LeNet5(input_shape, num_classes, activation, pooling)
