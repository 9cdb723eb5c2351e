"""VGG (Keras). Mirrors `modules/torch/vgg.py`."""
from __future__ import annotations

import keras

from modules.catalog.vgg import check_vgg_input, classifier_layers, feature_layers
from modules.keras.layers import channels_last_shape
from modules.keras.plans import apply_plan


def _create_vgg(config: str, input_shape: tuple, num_classes: int, width: float, classifier_width: int,
                dropout: float, batch_norm: bool, activation: str) -> keras.Model:
    check_vgg_input(config, input_shape)
    inputs = keras.Input(channels_last_shape(input_shape))  # (H, W, C)
    x = apply_plan(inputs, feature_layers(config, width, batch_norm), "features", activation)
    outputs = apply_plan(x, classifier_layers(classifier_width, dropout, num_classes), "classifier", activation)
    return keras.Model(inputs, outputs, name=config)


def vgg11(input_shape: tuple, num_classes: int = 1000, width: float = 1.0, classifier_width: int = 4096,
          dropout: float = 0.5, batch_norm: bool = False, activation: str = "relu") -> keras.Model:
    """VGG-11, configuration A (Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556)."""
    return _create_vgg("vgg11", input_shape, num_classes, width, classifier_width, dropout, batch_norm,
                       activation)


def vgg13(input_shape: tuple, num_classes: int = 1000, width: float = 1.0, classifier_width: int = 4096,
          dropout: float = 0.5, batch_norm: bool = False, activation: str = "relu") -> keras.Model:
    """VGG-13, configuration B (Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556)."""
    return _create_vgg("vgg13", input_shape, num_classes, width, classifier_width, dropout, batch_norm,
                       activation)


def vgg16(input_shape: tuple, num_classes: int = 1000, width: float = 1.0, classifier_width: int = 4096,
          dropout: float = 0.5, batch_norm: bool = False, activation: str = "relu") -> keras.Model:
    """VGG-16, configuration D (Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556)."""
    return _create_vgg("vgg16", input_shape, num_classes, width, classifier_width, dropout, batch_norm,
                       activation)


def vgg19(input_shape: tuple, num_classes: int = 1000, width: float = 1.0, classifier_width: int = 4096,
          dropout: float = 0.5, batch_norm: bool = False, activation: str = "relu") -> keras.Model:
    """VGG-19, configuration E (Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556)."""
    return _create_vgg("vgg19", input_shape, num_classes, width, classifier_width, dropout, batch_norm,
                       activation)
