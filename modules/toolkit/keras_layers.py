"""Small building blocks shared by the Keras networks."""
from __future__ import annotations

import keras
from keras import layers

from modules.activations import LEAKY_RELU_SLOPE, check_activation

# Keras keeps BN running statistics as non-trainable weights; torch keeps them
# as buffers, not parameters. They are left out so both sides count the same.
_STATISTICS = ("moving_mean", "moving_variance")


@keras.saving.register_keras_serializable(package="nnlab")
def gelu_exact(x):
    """GELU with the exact erf form (Keras's default is the tanh approximation)."""
    return keras.activations.gelu(x, approximate=False)


def activation(name: str, layer_name: str | None = None) -> layers.Layer:
    """The activation layer called `name` (see `modules.activations`)."""
    check_activation(name)
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE, name=layer_name)
    if name == "gelu":  # exact erf form, as torch's nn.GELU(); a named function so it saves safely
        return layers.Activation(gelu_exact, name=layer_name)
    return layers.Activation(name, name=layer_name)


def count_parameters(model: keras.Model) -> int:
    """Number of weights, trainable or frozen, without batch-norm statistics."""
    return int(sum(w.numpy().size for w in model.weights
                   if not any(w.path.endswith(s) for s in _STATISTICS)))


def channels_last_shape(input_shape: tuple) -> tuple:
    """(C, H, W) as the lab describes images -> (H, W, C) as Keras takes them."""
    if len(input_shape) == 3:
        c, h, w = input_shape
        return (h, w, c)
    return tuple(input_shape)
