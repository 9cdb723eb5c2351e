"""LeNet-5 (Keras). Mirrors `torch_net.py`; both build the plans of `spec.py`."""
from __future__ import annotations

import keras

from modules.lenet.spec import classifier_layers, feature_layers
from modules.toolkit.keras_layers import channels_last_shape
from modules.toolkit.keras_plans import apply_plan


def lenet5(input_shape: tuple, num_classes: int, *, activation: str, pooling: str) -> keras.Model:
    """LeNet-5 (LeCun et al. 1998, http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf)."""
    _, height, _ = input_shape
    inputs = keras.Input(channels_last_shape(input_shape), name="input")  # (H, W, C)
    x = apply_plan(inputs, feature_layers(height, pooling), "features", activation)
    outputs = apply_plan(x, classifier_layers(num_classes), "classifier", activation)
    return keras.Model(inputs, outputs, name="lenet5")
