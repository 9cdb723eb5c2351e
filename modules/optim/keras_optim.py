"""Keras optimizers with the settings shared with PyTorch (`modules.optim`). Twin of `torch_optim.py`."""
from __future__ import annotations

import keras

from modules.optim import optimizer_settings
from modules.optim.keras_torch_adam import TorchAdam, TorchAdamW


def make_optimizer(name: str, lr: float, global_clipnorm: float | None = None) -> keras.optimizers.Optimizer:
    """Optimizer `name` at learning rate `lr`; `global_clipnorm` scales each step's gradients
    so that their norm over all variables is at most that (torch: `clip_grad_norm_`)."""
    s = optimizer_settings(name)
    clip = {"global_clipnorm": global_clipnorm} if global_clipnorm else {}
    if name == "adam":
        return TorchAdam(lr, beta_1=s["beta_1"], beta_2=s["beta_2"], epsilon=s["epsilon"], **clip)
    if name == "adamw":
        return TorchAdamW(lr, weight_decay=s["weight_decay"], beta_1=s["beta_1"],
                                      beta_2=s["beta_2"], epsilon=s["epsilon"], **clip)
    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=s["momentum"], **clip)
    return keras.optimizers.RMSprop(lr, rho=s["rho"], epsilon=s["epsilon"], **clip)
