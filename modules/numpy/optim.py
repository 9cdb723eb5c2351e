"""Stochastic gradient descent in NumPy, with the settings the lab's frameworks share.

The lab's "sgd" is SGD with momentum (`modules.optim`), as torch.optim.SGD runs it:
    v <- momentum * v + grad
    w <- w - lr * v
With momentum 0 this is plain gradient descent, w <- w - lr * grad.
"""
from __future__ import annotations

import numpy as np

from modules.optim import optimizer_settings


class SGD:
    """Updates a dict of parameter arrays in place from a dict of gradients of the same names."""

    def __init__(self, params: dict[str, np.ndarray], lr: float, momentum: float | None = None) -> None:
        self.params, self.lr = params, lr
        self.momentum = optimizer_settings("sgd")["momentum"] if momentum is None else momentum
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        for name, param in self.params.items():
            v = self.velocity[name]
            v *= self.momentum
            v += grads[name]
            param -= self.lr * v  # in place: the network holds the same array
