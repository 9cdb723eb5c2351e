"""VGG (PyTorch). Mirrors `keras_net.py`; both build the plans of `spec.py`."""
from __future__ import annotations

from torch import nn

from modules.toolkit.plans import classifier_layers
from modules.toolkit.torch_plans import build_plan
from modules.vgg.spec import VGG_CONFIGS, check_vgg_input, feature_layers, feature_shape, vgg_builder


class VGG(nn.Module):
    """3x3 convolution stacks between 2x2 max poolings, then three fully connected layers."""

    def __init__(self, config: str, input_shape: tuple, num_classes: int, width: float,
                 classifier_width: int, dropout: float, batch_norm: bool, activation: str) -> None:
        super().__init__()
        check_vgg_input(config, input_shape)
        in_channels, height, _ = input_shape
        self.features = build_plan(feature_layers(config, width, batch_norm), in_channels, activation=activation)
        channels, side = feature_shape(config, width, height)
        self.classifier = build_plan(classifier_layers(classifier_width, dropout, num_classes),
                                     in_channels=channels, in_features=channels * side * side,
                                     activation=activation)

    def forward(self, x):  # (B, C, H, W)
        return self.classifier(self.features(x).flatten(1))  # (B, num_classes) logits, torchvision's order


def create_vgg(config: str, input_shape: tuple, num_classes: int, width: float, classifier_width: int,
               dropout: float, batch_norm: bool, activation: str) -> VGG:
    """VGG configuration `config` (a key of `VGG_CONFIGS`)."""
    return VGG(config, input_shape, num_classes, width, classifier_width, dropout, batch_norm, activation)


vgg11, vgg13, vgg16, vgg19 = (vgg_builder(config, create_vgg) for config in VGG_CONFIGS)
