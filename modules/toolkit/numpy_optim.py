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


def clip_global_norm(grads: dict[str, np.ndarray], max_norm: float) -> dict[str, np.ndarray]:
    """`grads` scaled so that their norm over all parameters is at most `max_norm`, by
    torch.nn.utils.clip_grad_norm_'s rule (scale max_norm / (norm + 1e-6), never above 1)."""
    norm = float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return grads if scale == 1.0 else {k: g * np.asarray(scale, g.dtype) for k, g in grads.items()}


class SGD:
    """Updates a dict of parameter arrays in place from a dict of gradients of the same names;
    `grad_clip` (`--grad-clip`) first clips the gradients' global norm."""

    def __init__(self, params: dict[str, np.ndarray], lr: float, momentum: float | None = None,
                 grad_clip: float | None = None) -> None:
        self.params, self.lr, self.grad_clip = params, lr, grad_clip
        self.momentum = optimizer_settings("sgd")["momentum"] if momentum is None else momentum
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        if self.grad_clip:
            grads = clip_global_norm(grads, self.grad_clip)
        for name, param in self.params.items():
            v = self.velocity[name]
            v *= self.momentum
            v += grads[name]
            param -= self.lr * v  # in place: the network holds the same array
