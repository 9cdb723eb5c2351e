"""Optimizers offered in both frameworks, with the settings both sides share.

The frameworks' defaults differ (Adam's epsilon is 1e-8 in torch and 1e-7 in
Keras, and Keras adds it to the uncorrected root of the second moment; RMSprop's
decay 0.99 vs 0.9; AdamW's weight decay 0.01 vs 0.004; Keras's `weight_decay` is
decoupled on every optimizer, torch's is coupled L2 except in AdamW), so both sides
read their settings from here rather than from their defaults (docs/recipes.md).

Laid out as a family is: this framework-free table, and the twin builders beside it,
`torch_optim.make_optimizer` and `keras_optim.make_optimizer` (import them only after
`modules.backend` has loaded the frameworks).
"""
import math
from dataclasses import dataclass

from modules.errors import UserError

OPTIMIZERS = {
    "adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8},
    "adamw": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01},
    "sgd": {"momentum": 0.9},
    "rmsprop": {"rho": 0.99, "epsilon": 1e-8},
}


# Learning-rate schedules, per optimizer step: "constant"; "cosine" (Loshchilov & Hutter 2017,
# no restarts) from `lr` down to 0 over the run; "step": x0.1 at 50% and again at 75% of the
# run (He et al. 2015's CIFAR recipe: 32k and 48k of 64k iterations). A linear warm-up of
# `warmup_steps` may come first; the schedule then spans the remaining steps. Both frameworks
# follow `lr_factor`.
LR_SCHEDULES = ("constant", "cosine", "step")
STEP_DECAY = ((0.5, 0.1), (0.75, 0.01))  # (fraction of the decay steps, factor from then on)


def lr_factor(schedule: str, step: int, total_steps: int, warmup_steps: int = 0) -> float:
    """The multiple of the base learning rate used at optimizer step `step` (0-based)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    step, total_steps = step - warmup_steps, max(total_steps - warmup_steps, 1)
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return next((f for at, f in reversed(STEP_DECAY) if step >= at * total_steps), 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))


def check_lr_schedule(name: str) -> None:
    """An unknown schedule lists the valid ones."""
    if name not in LR_SCHEDULES:
        raise UserError(f"unknown learning-rate schedule {name!r}; valid: {', '.join(LR_SCHEDULES)}")


def optimizer_settings(name: str) -> dict:
    """The shared settings of optimizer `name`; an unknown name lists the valid ones."""
    if name not in OPTIMIZERS:
        raise UserError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")
    return dict(OPTIMIZERS[name])


@dataclass(frozen=True)
class Regularization:
    """What an optimizer step adds beyond the gradient, with one meaning in both frameworks.

    `weight_decay`: coupled L2, `weight_decay * w` added to the gradient before the
    optimizer's update (torch's `weight_decay` of SGD, Adam and RMSprop). `decoupled_weight_decay`:
    AdamW's `w -= lr * decay * w` beside the update (Loshchilov & Hutter 2019), adamw only;
    None is OPTIMIZERS["adamw"]'s. `momentum` (None: OPTIMIZERS["sgd"]'s) and `nesterov`: SGD's,
    in torch's form (the velocity accumulates gradients; the learning rate scales each step).
    """

    weight_decay: float = 0.0
    decoupled_weight_decay: float | None = None
    momentum: float | None = None
    nesterov: bool = False

    def settings(self, name: str) -> dict:
        """`optimizer_settings(name)` with these choices applied (checked)."""
        self.check(name)
        s = optimizer_settings(name)
        if name == "adamw" and self.decoupled_weight_decay is not None:
            s["weight_decay"] = self.decoupled_weight_decay
        if name == "sgd":
            s["momentum"] = s["momentum"] if self.momentum is None else self.momentum
            s["nesterov"] = self.nesterov
        if name != "adamw":
            s["weight_decay"] = self.weight_decay
        return s

    def check(self, name: str) -> None:
        """Each choice is in range and means something for optimizer `name` (UserError naming the fix)."""
        optimizer_settings(name)
        for flag, value in (("--weight-decay", self.weight_decay),
                            ("--decoupled-weight-decay", self.decoupled_weight_decay)):
            if value is not None and not (value >= 0 and math.isfinite(value)):
                raise UserError(f"{flag} must be a finite number >= 0, got {value}")
        if name == "adamw" and self.weight_decay:
            raise UserError("adamw decays weights decoupled: pass --decoupled-weight-decay X, or "
                            "--optimizer adam/sgd/rmsprop with --weight-decay X (coupled L2)")
        if name != "adamw" and self.decoupled_weight_decay is not None:
            raise UserError(f"--decoupled-weight-decay is AdamW's: pass --optimizer adamw, or "
                            f"--weight-decay X for coupled L2 with {name}")
        if name != "sgd" and (self.momentum is not None or self.nesterov):
            raise UserError(f"--momentum and --nesterov are SGD's: pass --optimizer sgd (not {name})")
        if self.momentum is not None and not 0 <= self.momentum < 1:
            raise UserError(f"--momentum must be in [0, 1), got {self.momentum}")
        if self.nesterov and self.momentum == 0:
            raise UserError("--nesterov needs a momentum > 0")


PLAIN = Regularization()  # no weight decay; the table's momentum


@dataclass(frozen=True)
class Recipe:
    """The training recipe a task applies beside its optimizer name, rate and schedule."""

    regularization: Regularization = PLAIN
    warmup_steps: int = 0  # linear warm-up steps before the schedule (`lr_factor`)
    label_smoothing: float = 0.0  # classification: targets (1 - s) one-hot + s / classes


PLAIN_RECIPE = Recipe()  # the recipe every run had before recipes: none
