"""VGG (Keras). Mirrors `torch_net.py`; both build the plans of `spec.py`."""
from __future__ import annotations

import keras

from modules.toolkit.keras_layers import channels_last_shape
from modules.toolkit.keras_plans import apply_plan, flatten_channels_first
from modules.toolkit.plans import classifier_layers
from modules.vgg.spec import VGG_CONFIGS, check_vgg_input, feature_layers, vgg_builder


def create_vgg(config: str, input_shape: tuple, num_classes: int, width: float, classifier_width: int,
               dropout: float, batch_norm: bool, activation: str) -> keras.Model:
    """VGG configuration `config` (a key of `VGG_CONFIGS`)."""
    check_vgg_input(config, input_shape)
    inputs = keras.Input(channels_last_shape(input_shape), name="input")  # (H, W, C)
    x = apply_plan(inputs, feature_layers(config, width, batch_norm), "features", activation)
    x = flatten_channels_first(x)
    outputs = apply_plan(x, classifier_layers(classifier_width, dropout, num_classes), "classifier", activation)
    return keras.Model(inputs, outputs, name=config)


vgg11, vgg13, vgg16, vgg19 = (vgg_builder(config, create_vgg) for config in VGG_CONFIGS)
