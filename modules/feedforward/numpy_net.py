"""Multilayer perceptron in NumPy, forward and backward by hand.

Twin of `torch_net.py` layer for layer and name for name (`hidden.0.linear.weight`,
..., `head.bias`), so weights move between the two as they are, and the same builder
`mlp(input_shape, num_classes, depth=..., width=..., widths=..., activation=..., dropout=...,
init=...)` makes it.

Forward, for a batch x of shape (B, D), with hidden widths n_1..n_L (`widths`, else `depth`
layers of `width`):
    a_0 = flatten(x)                            (B, D)
    z_l = a_{l-1} W_l^T + b_l                   (B, n_l)       l = 1..L
    a_l = f(z_l)                                (B, n_l)
    logits = a_L W_head^T + b_head              (B, K)
    loss = mean cross-entropy(softmax(logits), y)

Backward runs the same list of layers in reverse: each layer turns dL/d(its
output) into dL/d(its input), storing dL/d(its parameters) on the way.
"""
from __future__ import annotations

import math

import numpy as np

from modules.feedforward.spec import hidden_widths
from modules.toolkit.numpy_layers import Activation, Dense, Dropout, Flatten, softmax_cross_entropy


def hidden_block(name: str, in_features: int, width: int, activation: str, dropout: float, init: str,
                 rng: np.random.Generator, dtype) -> list[tuple[str, object]]:
    """One hidden layer: `linear`, `activation`, then `dropout` when `dropout` > 0, named as torch's."""
    block = [(f"{name}.linear", Dense(in_features, width, rng, dtype, init)),
             (f"{name}.activation", Activation(activation))]
    if dropout > 0:
        block.append((f"{name}.dropout", Dropout(dropout, rng)))
    return block


class MLP:
    """Hidden dense layers (`widths`, else `depth` of `width` units), then a linear output (logits)."""

    def __init__(self, input_shape: tuple, num_classes: int, *, depth: int, width: int, widths: str | None,
                 activation: str, dropout: float, init: str, seed: int = 0, dtype=np.float32) -> None:
        rng = np.random.default_rng(seed)
        self.layers: list[tuple[str, object]] = [("flatten", Flatten())]
        in_features = math.prod(input_shape)
        for i, units in enumerate(hidden_widths(depth, width, widths)):
            self.layers += hidden_block(f"hidden.{i}", in_features, units, activation, dropout, init,
                                        rng, dtype)
            in_features = units
        self.layers.append(("head", Dense(in_features, num_classes, rng, dtype, init)))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Logits (B, num_classes) of inputs (B, ...); `training` turns dropout on."""
        for _, layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_logits: np.ndarray) -> None:
        """Backpropagate dLoss/dlogits (B, num_classes); fills every layer's `grads`."""
        grad = grad_logits
        for _, layer in reversed(self.layers):
            grad = layer.backward(grad)

    def loss_and_gradients(self, x: np.ndarray, y: np.ndarray, training: bool = False
                           ) -> tuple[float, np.ndarray, dict[str, np.ndarray]]:
        """One forward and one backward pass: (loss, logits, {parameter name: dLoss/dparameter})."""
        logits = self.forward(x, training)
        loss, grad_logits = softmax_cross_entropy(logits, y)
        self.backward(grad_logits)
        return loss, logits, self.gradients()

    def parameters(self) -> dict[str, np.ndarray]:
        """Parameters by torch's state-dict name; the arrays themselves (update them in place)."""
        return {f"{name}.{key}": value for name, layer in self.layers
                for key, value in layer.params.items()}

    def gradients(self) -> dict[str, np.ndarray]:
        """dLoss/dparameter from the last `backward`, by the same names as `parameters`."""
        return {f"{name}.{key}": value for name, layer in self.layers
                for key, value in layer.grads.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy in weights named and shaped as torch's state dict (e.g. from an nn.Module)."""
        own = self.parameters()
        if set(state) != set(own):
            raise ValueError(f"state dict keys differ: {sorted(set(state) ^ set(own))}")
        for name, value in state.items():
            own[name][...] = np.asarray(value, dtype=own[name].dtype).reshape(own[name].shape)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters, by torch's state-dict names and shapes."""
        return {name: value.copy() for name, value in self.parameters().items()}


def mlp(input_shape: tuple, num_classes: int, *, seed: int = 0, dtype=np.float32, **hparams) -> MLP:
    """Multilayer perceptron (Rumelhart, Hinton & Williams 1986, https://doi.org/10.1038/323533a0).

    `seed` and `dtype` are the NumPy twin's own settings, not hyperparameters."""
    return MLP(tuple(input_shape), num_classes, seed=seed, dtype=dtype, **hparams)
