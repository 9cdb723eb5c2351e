"""Local response normalisation for Keras, computing exactly torch's formula.

Keras has no such layer. torch's `nn.LocalResponseNorm(size, alpha, beta, k)`:
b_c = a_c / (k + alpha / size * sum_{c' in window(c)} a_{c'}^2) ^ beta, where the
window runs from c - size // 2 to c + (size - 1) // 2, zero-padded at the edges
(torch averages the zero-padded squares over `size`, the same thing).
No weights, so no converter.
"""
from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="nnlab")
class LocalResponseNorm(layers.Layer):
    """Normalise each channel by the energy of its neighbours (channels last)."""

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def call(self, x):  # (B, H, W, C)
        channels = x.shape[-1]
        squares = ops.pad(ops.square(x), [[0, 0]] * (len(x.shape) - 1)
                          + [[self.size // 2, (self.size - 1) // 2]])
        window_sum = squares[..., 0:channels]
        for offset in range(1, self.size):
            window_sum = window_sum + squares[..., offset:offset + channels]
        return x / ops.power(self.k + self.alpha * window_sum / self.size, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "alpha": self.alpha,
                "beta": self.beta, "k": self.k}
