"""AlexNet (PyTorch). Mirrors `modules/keras/alexnet.py`."""
from __future__ import annotations

from torch import nn

from modules.catalog.alexnet import (check_input_size, classifier_layers, conv_specs, feature_layers,
                                     feature_side, min_input_size)
from modules.toolkit.torch_plans import build_plan


class AlexNet(nn.Module):
    """Five convolutions (ReLU, optional LRN, overlapping max pooling), three fully connected."""

    def __init__(self, input_shape: tuple, num_classes: int, channels: str, width: float,
                 classifier_width: int, dropout: float, lrn: bool, small_input: bool,
                 activation: str = "relu") -> None:
        super().__init__()
        in_channels, height, _ = input_shape
        check_input_size("alexnet", input_shape, min_input_size(small_input),
                         "" if small_input else " with small_input=false")
        self.features = build_plan(feature_layers(channels, width, lrn, small_input), in_channels,
                                   activation=activation)
        side = feature_side(height, small_input)
        out_channels = conv_specs(channels, width, small_input)[-1][0]
        self.classifier = build_plan(classifier_layers(classifier_width, dropout, num_classes),
                                     in_channels=out_channels, in_features=out_channels * side * side,
                                     activation=activation)

    def forward(self, x):  # (B, C, H, W)
        return self.classifier(self.features(x))  # (B, num_classes) logits


def alexnet(input_shape: tuple, num_classes: int = 1000, channels: str = "2012", width: float = 1.0,
            classifier_width: int = 4096, dropout: float = 0.5, lrn: bool = True,
            small_input: bool = False, activation: str = "relu") -> AlexNet:
    """AlexNet (Krizhevsky et al. 2012, https://papers.nips.cc/paper/4824)."""
    return AlexNet(input_shape, num_classes, channels, width, classifier_width, dropout, lrn, small_input,
                   activation)
