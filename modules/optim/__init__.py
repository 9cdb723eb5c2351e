"""Optimizers offered in both frameworks, with the settings both sides share.

The frameworks' defaults differ (Adam's epsilon is 1e-8 in torch and 1e-7 in
Keras; RMSprop's decay 0.99 vs 0.9; AdamW's weight decay 0.01 vs 0.004), so
both sides read their settings from here rather than from their defaults.

Laid out as a family is: this framework-free table, and the twin builders beside it,
`torch_optim.make_optimizer` and `keras_optim.make_optimizer` (import them only after
`modules.backend` has loaded the frameworks).
"""
import math

from modules.errors import UserError

OPTIMIZERS = {
    "adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8},
    "adamw": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01},
    "sgd": {"momentum": 0.9},
    "rmsprop": {"rho": 0.99, "epsilon": 1e-8},
}


# Learning-rate schedules, per optimizer step: "constant", or "cosine" (Loshchilov & Hutter
# 2017, no restarts) from `lr` down to 0 over the run; both frameworks follow `lr_factor`.
LR_SCHEDULES = ("constant", "cosine")


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """The multiple of the base learning rate used at optimizer step `step` (0-based)."""
    if schedule == "constant":
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))


def check_lr_schedule(name: str) -> None:
    """An unknown schedule lists the valid ones."""
    if name not in LR_SCHEDULES:
        raise UserError(f"unknown learning-rate schedule {name!r}; valid: {', '.join(LR_SCHEDULES)}")


def optimizer_settings(name: str) -> dict:
    """The shared settings of optimizer `name`; an unknown name lists the valid ones."""
    if name not in OPTIMIZERS:
        raise UserError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")
    return dict(OPTIMIZERS[name])
