"""AlexNet (Keras). Mirrors `torch_net.py`; both build the plans of `spec.py`."""
from __future__ import annotations

import keras

from modules.alexnet.spec import check_alexnet_input, feature_layers
from modules.toolkit.keras_layers import channels_last_shape
from modules.toolkit.keras_plans import apply_plan, flatten_channels_first
from modules.toolkit.plans import classifier_layers


def alexnet(input_shape: tuple, num_classes: int, *, channels: str, width: float, classifier_width: int,
            dropout: float, lrn: bool, small_input: bool, activation: str) -> keras.Model:
    """AlexNet (Krizhevsky et al. 2012, https://papers.nips.cc/paper/4824)."""
    check_alexnet_input(input_shape, small_input)
    inputs = keras.Input(channels_last_shape(input_shape), name="input")  # (H, W, C)
    x = apply_plan(inputs, feature_layers(channels, width, lrn, small_input), "features", activation)
    x = flatten_channels_first(x)
    outputs = apply_plan(x, classifier_layers(classifier_width, dropout, num_classes, dropout_first=True),
                         "classifier", activation)
    return keras.Model(inputs, outputs, name="alexnet")
