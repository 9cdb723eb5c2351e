"""PyTorch optimizers with the settings shared with Keras (`modules.optim`). Twin of `keras_optim.py`."""
from __future__ import annotations

import torch

from modules.optim import PLAIN, Regularization


def make_optimizer(name: str, params, lr: float, regularization: Regularization = PLAIN
                   ) -> torch.optim.Optimizer:
    """Optimizer `name` over `params` at learning rate `lr`, with `regularization`'s weight decay
    (coupled L2, or AdamW's decoupled) and SGD's momentum."""
    s = regularization.settings(name)
    if name == "adam":
        return torch.optim.Adam(params, lr, betas=(s["beta_1"], s["beta_2"]), eps=s["epsilon"],
                                weight_decay=s["weight_decay"])
    if name == "adamw":
        return torch.optim.AdamW(params, lr, betas=(s["beta_1"], s["beta_2"]), eps=s["epsilon"],
                                 weight_decay=s["weight_decay"])
    if name == "sgd":
        return torch.optim.SGD(params, lr, momentum=s["momentum"], nesterov=s["nesterov"],
                               weight_decay=s["weight_decay"])
    return torch.optim.RMSprop(params, lr, alpha=s["rho"], eps=s["epsilon"], weight_decay=s["weight_decay"])
