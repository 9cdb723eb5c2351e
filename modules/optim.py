"""Optimizers offered in both frameworks, with the settings both sides share.

The frameworks' defaults differ (Adam's epsilon is 1e-8 in torch and 1e-7 in
Keras; RMSprop's decay 0.99 vs 0.9; AdamW's weight decay 0.01 vs 0.004), so
both sides read their settings from here rather than from their defaults.
"""
from modules.errors import UserError

OPTIMIZERS = {
    "adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8},
    "adamw": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01},
    "sgd": {"momentum": 0.9},
    "rmsprop": {"rho": 0.99, "epsilon": 1e-8},
}


def optimizer_settings(name: str) -> dict:
    """The shared settings of optimizer `name`; an unknown name lists the valid ones."""
    if name not in OPTIMIZERS:
        raise UserError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")
    return dict(OPTIMIZERS[name])
