"""AlexNet (Keras). Mirrors `modules/torch/alexnet.py`."""
from __future__ import annotations

import keras

from modules.catalog.alexnet import check_input_size, classifier_layers, feature_layers, min_input_size
from modules.toolkit.keras_layers import channels_last_shape
from modules.toolkit.keras_plans import apply_plan


def alexnet(input_shape: tuple, num_classes: int = 1000, channels: str = "2012", width: float = 1.0,
            classifier_width: int = 4096, dropout: float = 0.5, lrn: bool = True,
            small_input: bool = False, activation: str = "relu") -> keras.Model:
    """AlexNet (Krizhevsky et al. 2012, https://papers.nips.cc/paper/4824)."""
    check_input_size("alexnet", input_shape, min_input_size(small_input),
                     "" if small_input else " with small_input=false")
    inputs = keras.Input(channels_last_shape(input_shape))  # (H, W, C)
    x = apply_plan(inputs, feature_layers(channels, width, lrn, small_input), "features", activation)
    outputs = apply_plan(x, classifier_layers(classifier_width, dropout, num_classes), "classifier", activation)
    return keras.Model(inputs, outputs, name="alexnet")
