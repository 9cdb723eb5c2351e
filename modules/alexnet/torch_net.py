"""AlexNet (PyTorch). Mirrors `keras_net.py`; both build the plans of `spec.py`."""
from __future__ import annotations

from torch import nn

from modules.alexnet.spec import check_alexnet_input, conv_specs, feature_layers, feature_side
from modules.toolkit.plans import classifier_layers
from modules.toolkit.torch_plans import build_plan


class AlexNet(nn.Module):
    """Five convolutions (activation, optional LRN, overlapping max pooling), three fully connected."""

    def __init__(self, input_shape: tuple, num_classes: int, channels: str, width: float,
                 classifier_width: int, dropout: float, lrn: bool, small_input: bool, activation: str) -> None:
        super().__init__()
        check_alexnet_input(input_shape, small_input)
        in_channels, height, _ = input_shape
        self.features = build_plan(feature_layers(channels, width, lrn, small_input), in_channels,
                                   activation=activation)
        side = feature_side(height, small_input)
        out_channels = conv_specs(channels, width, small_input)[-1][0]
        self.classifier = build_plan(classifier_layers(classifier_width, dropout, num_classes, dropout_first=True),
                                     in_channels=out_channels, in_features=out_channels * side * side,
                                     activation=activation)

    def forward(self, x):  # (B, C, H, W)
        return self.classifier(self.features(x).flatten(1))  # (B, num_classes) logits, torchvision's order


def alexnet(input_shape: tuple, num_classes: int, *, channels: str, width: float, classifier_width: int,
            dropout: float, lrn: bool, small_input: bool, activation: str) -> AlexNet:
    """AlexNet (Krizhevsky et al. 2012, https://papers.nips.cc/paper/4824)."""
    return AlexNet(input_shape, num_classes, channels, width, classifier_width, dropout, lrn, small_input,
                   activation)
