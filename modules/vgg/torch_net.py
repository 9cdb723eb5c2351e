"""VGG (PyTorch). Mirrors `modules/keras/vgg.py`."""
from __future__ import annotations

from torch import nn

from modules.catalog.vgg import check_vgg_input, classifier_layers, feature_layers, feature_shape
from modules.toolkit.torch_plans import build_plan


class VGG(nn.Module):
    """3x3 convolution stacks between 2x2 max poolings, then three fully connected layers."""

    def __init__(self, config: str, input_shape: tuple, num_classes: int, width: float,
                 classifier_width: int, dropout: float, batch_norm: bool, activation: str = "relu") -> None:
        super().__init__()
        check_vgg_input(config, input_shape)
        in_channels, height, _ = input_shape
        self.features = build_plan(feature_layers(config, width, batch_norm), in_channels, activation=activation)
        channels, side = feature_shape(config, width, height)
        self.classifier = build_plan(classifier_layers(classifier_width, dropout, num_classes),
                                     in_channels=channels, in_features=channels * side * side,
                                     activation=activation)

    def forward(self, x):  # (B, C, H, W)
        return self.classifier(self.features(x))  # (B, num_classes) logits


def _create_vgg(config: str, input_shape: tuple, num_classes: int, width: float, classifier_width: int,
                dropout: float, batch_norm: bool, activation: str) -> VGG:
    return VGG(config, input_shape, num_classes, width, classifier_width, dropout, batch_norm, activation)


def _builder(config: str, letter: str):
    """The public builder of VGG configuration `config` (the paper's column `letter`)."""
    def build(input_shape: tuple, num_classes: int = 1000, width: float = 1.0, classifier_width: int = 4096,
              dropout: float = 0.5, batch_norm: bool = False, activation: str = "relu") -> VGG:
        return _create_vgg(config, input_shape, num_classes, width, classifier_width, dropout, batch_norm,
                           activation)

    build.__name__ = build.__qualname__ = config
    build.__doc__ = (f"VGG-{config[3:]}, configuration {letter} "
                     "(Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556).")
    return build


vgg11, vgg13, vgg16, vgg19 = (_builder("vgg11", "A"), _builder("vgg13", "B"), _builder("vgg16", "D"),
                              _builder("vgg19", "E"))
