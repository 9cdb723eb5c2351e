"""LeNet-5 (Keras). Mirrors `modules/torch/lenet.py`."""
from __future__ import annotations

import keras
from keras import layers

from modules.catalog.lenet import LENET5_CONVS, LENET5_FC, lenet_geometry
from modules.toolkit.keras_layers import activation as make_activation, channels_last_shape


def lenet5(input_shape: tuple, num_classes: int = 10, activation: str = "tanh",
           pooling: str = "avg") -> keras.Model:
    """LeNet-5 (LeCun et al. 1998, http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf)."""
    in_channels, height, _ = input_shape
    padding, _ = lenet_geometry(height)
    pool = layers.AveragePooling2D if pooling == "avg" else layers.MaxPooling2D
    (c1, k1), (c2, k2) = LENET5_CONVS
    f1, f2 = LENET5_FC
    inputs = keras.Input(channels_last_shape(input_shape))  # (H, W, C)
    x = layers.ZeroPadding2D(padding)(inputs) if padding else inputs
    x = layers.Conv2D(c1, k1, name="features.0")(x)
    x = pool(2)(make_activation(activation)(x))
    x = layers.Conv2D(c2, k2, name="features.3")(x)
    x = pool(2)(make_activation(activation)(x))
    x = layers.Permute((3, 1, 2))(x)  # flatten in torch's (C, H, W) order so weights transfer 1:1
    x = layers.Flatten()(x)
    x = make_activation(activation)(layers.Dense(f1, name="classifier.1")(x))
    x = make_activation(activation)(layers.Dense(f2, name="classifier.3")(x))
    outputs = layers.Dense(num_classes, name="classifier.5")(x)
    return keras.Model(inputs, outputs, name="lenet5")
