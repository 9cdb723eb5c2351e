"""VGG (Keras). Mirrors `modules/torch/vgg.py`."""
from __future__ import annotations

import keras

from modules.catalog.vgg import check_vgg_input, classifier_layers, feature_layers
from modules.toolkit.keras_layers import channels_last_shape
from modules.toolkit.keras_plans import apply_plan


def _create_vgg(config: str, input_shape: tuple, num_classes: int, width: float, classifier_width: int,
                dropout: float, batch_norm: bool, activation: str) -> keras.Model:
    check_vgg_input(config, input_shape)
    inputs = keras.Input(channels_last_shape(input_shape))  # (H, W, C)
    x = apply_plan(inputs, feature_layers(config, width, batch_norm), "features", activation)
    outputs = apply_plan(x, classifier_layers(classifier_width, dropout, num_classes), "classifier", activation)
    return keras.Model(inputs, outputs, name=config)


def _builder(config: str, letter: str):
    """The public builder of VGG configuration `config` (the paper's column `letter`)."""
    def build(input_shape: tuple, num_classes: int = 1000, width: float = 1.0, classifier_width: int = 4096,
              dropout: float = 0.5, batch_norm: bool = False, activation: str = "relu") -> keras.Model:
        return _create_vgg(config, input_shape, num_classes, width, classifier_width, dropout, batch_norm,
                           activation)

    build.__name__ = build.__qualname__ = config
    build.__doc__ = (f"VGG-{config[3:]}, configuration {letter} "
                     "(Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556).")
    return build


vgg11, vgg13, vgg16, vgg19 = (_builder("vgg11", "A"), _builder("vgg13", "B"), _builder("vgg16", "D"),
                              _builder("vgg19", "E"))
