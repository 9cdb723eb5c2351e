"""Training the NumPy twins: which networks have one, the settings they train with, and SGD.

The lab's "sgd" is SGD with momentum (`modules.optim`), as torch.optim.SGD runs it:
    v <- momentum * v + grad
    w <- w - lr * v
With momentum 0 this is plain gradient descent, w <- w - lr * grad.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from modules import registry
from modules.errors import UserError
from modules.optim import optimizer_settings

# Plain gradient descent needs a larger step than Adam's 1e-3 (params.yaml's default);
# `nnlab train --framework numpy` starts from these, the command line overrides them.
TRAIN_DEFAULTS = {"optimizer": "sgd", "lr": 0.05}
OPTIMIZERS = ("sgd",)


def numpy_twins() -> list[str]:
    """Registry names whose family folder holds a NumPy twin (`modules/<family>/numpy_net.py`)."""
    families = Path(__file__).resolve().parent.parent
    return [a.name for a in registry.all_architectures()
            if (families / a.module / "numpy_net.py").is_file()]


def check_training(arch: str, optimizer: str) -> None:
    """Raise UserError unless `arch` has a NumPy twin and `optimizer` is one the NumPy runner has."""
    twins = numpy_twins()
    if arch not in twins:
        raise UserError(f"{arch} has no NumPy implementation; --framework numpy supports: "
                        f"{', '.join(twins)}")
    if optimizer not in OPTIMIZERS:
        raise UserError(f"the numpy framework trains with {', '.join(OPTIMIZERS)} only; "
                        f"pass --optimizer {OPTIMIZERS[0]} (got {optimizer})")


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
