"""What makes a Keras layer behave like torch's: batch norm with torch's momentum and
epsilon, torch's initialisers, torch's convolution padding, activations, counting.
Mirrors `modules/toolkit/torch_layers.py`."""
from __future__ import annotations

import keras
from keras import layers

from modules.activations import LEAKY_RELU_SLOPE, check_activation
from modules.toolkit.plans import TORCH_BN_EPSILON, TORCH_BN_MOMENTUM

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


def batch_norm(name: str, epsilon: float = TORCH_BN_EPSILON, **kwargs) -> layers.BatchNormalization:
    """torch's batch norm as a Keras layer: Keras's momentum is 1 - torch's (it weighs the old
    running statistics, torch's the batch's), and torch's epsilon. `kwargs` go to the layer
    (initialisers)."""
    return layers.BatchNormalization(momentum=1 - TORCH_BN_MOMENTUM, epsilon=epsilon, name=name, **kwargs)


def kaiming_normal(mode: str) -> keras.initializers.Initializer:
    """torch's `nn.init.kaiming_normal_(mode=mode, nonlinearity="relu")`: N(0, 2 / fan)."""
    return keras.initializers.VarianceScaling(2.0, mode=mode, distribution="untruncated_normal")


def linear_kernel_initializer() -> keras.initializers.Initializer:
    """torch's default `nn.Linear` weight: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    return keras.initializers.VarianceScaling(1 / 3, mode="fan_in", distribution="uniform")


def linear_bias_initializer(fan_in: int) -> keras.initializers.Initializer:
    """torch's default `nn.Linear` bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = fan_in ** -0.5
    return keras.initializers.RandomUniform(-bound, bound)


def torch_dense(units: int, fan_in: int, *, name: str, **kwargs) -> layers.Dense:
    """torch's `nn.Linear(fan_in, units)` as a Keras Dense layer, starting from torch's default
    initialisers (Keras's are Glorot-uniform and zero biases). `kwargs` go to the layer."""
    return layers.Dense(units, kernel_initializer=linear_kernel_initializer(),
                        bias_initializer=linear_bias_initializer(fan_in), name=name, **kwargs)


def conv2d(x, filters: int, kernel: int, stride: int, padding: int, bias: bool = True, *, name: str,
           kernel_initializer: keras.initializers.Initializer | None = None):
    """torch's Conv2d(kernel, stride, padding) on an NHWC tensor, by default from torch's
    initialisers (`kaiming_uniform(a=sqrt(5))` kernel, U(+-1/sqrt(fan_in)) bias, fan_in =
    in_channels x kernel^2: both twins start from one distribution; a family that initialises
    otherwise passes its `kernel_initializer`). Keras's "same" is torch's padding only at stride 1
    with an odd kernel (elsewhere it pads an even side only at the bottom/right, shifting every map
    by one pixel), so other cases pad explicitly (`<name>.pad`) and convolve "valid"."""
    fan_in = x.shape[-1] * kernel * kernel
    initializers = {"kernel_initializer": kernel_initializer or linear_kernel_initializer(),
                    "bias_initializer": linear_bias_initializer(fan_in)}
    if stride == 1 and kernel % 2 == 1 and padding == kernel // 2:
        return layers.Conv2D(filters, kernel, padding="same", use_bias=bias, name=name, **initializers)(x)
    if padding:
        x = layers.ZeroPadding2D(padding, name=f"{name}.pad")(x)
    return layers.Conv2D(filters, kernel, strides=stride, use_bias=bias, name=name, **initializers)(x)


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
