"""Keras optimizers with the settings shared with PyTorch (`modules.optim`). Twin of `torch_optim.py`.

Keras's own classes differ from torch's in three places, so the lab's subclasses compute
torch's update (docs/recipes.md): Keras's `weight_decay` is decoupled on every optimizer
(torch's SGD/Adam/RMSprop add coupled L2 to the gradient: `coupled_weight_decay` here);
Keras's Adam adds epsilon to the root of the uncorrected second moment (torch: of the
bias-corrected one); Keras's SGD folds the learning rate into the velocity (torch scales the
velocity by the learning rate of each step, which differs as soon as the rate changes).
"""
from __future__ import annotations

import keras
from keras import ops

from modules.optim import PLAIN, STEP_DECAY, Regularization


class CoupledL2:
    """Adds `coupled_weight_decay * w` to each gradient before the update (torch's weight_decay)."""

    coupled_weight_decay = 0.0

    def coupled(self, gradient, variable):
        gradient = ops.cast(gradient, variable.dtype)
        if not self.coupled_weight_decay:
            return gradient
        decay = ops.convert_to_tensor(self.coupled_weight_decay, variable.dtype)
        return ops.add(gradient, ops.multiply(variable, decay))


class TorchAdamUpdate(CoupledL2):
    """Adam's update as torch computes it: epsilon added to the bias-corrected root of v."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = self.coupled(gradient, variable)
        step = ops.cast(self.iterations + 1, variable.dtype)
        # the betas as tensors of the variable's dtype (`ops.cast` of a Python float rounds it to float32 first)
        bias_1 = 1 - ops.power(ops.convert_to_tensor(self.beta_1, variable.dtype), step)
        bias_2 = 1 - ops.power(ops.convert_to_tensor(self.beta_2, variable.dtype), step)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        dtype = variable.dtype
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), ops.convert_to_tensor(1 - self.beta_1, dtype)))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v),
                                        ops.convert_to_tensor(1 - self.beta_2, dtype)))
        denominator = ops.add(ops.divide(ops.sqrt(v), ops.sqrt(bias_2)), ops.convert_to_tensor(self.epsilon, dtype))
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / bias_1), denominator))


@keras.saving.register_keras_serializable(package="nnlab")
class Adam(TorchAdamUpdate, keras.optimizers.Adam):
    """Keras Adam computing torch's update, with optional coupled L2."""


@keras.saving.register_keras_serializable(package="nnlab")
class AdamW(TorchAdamUpdate, keras.optimizers.AdamW):
    """Keras AdamW computing torch's update (its decoupled decay is Keras's own, as torch's)."""


@keras.saving.register_keras_serializable(package="nnlab")
class SGD(CoupledL2, keras.optimizers.SGD):
    """SGD in torch's form: v = m v + g; w -= lr (g + m v) with Nesterov, else lr v."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = self.coupled(gradient, variable)
        if self.momentum == 0:
            self.assign_sub(variable, ops.multiply(gradient, lr))
            return
        momentum = ops.convert_to_tensor(self.momentum, variable.dtype)
        velocity = self.momentums[self._get_variable_index(variable)]
        self.assign(velocity, ops.add(ops.multiply(velocity, momentum), gradient))
        step = ops.add(gradient, ops.multiply(velocity, momentum)) if self.nesterov else velocity
        self.assign_sub(variable, ops.multiply(step, lr))


@keras.saving.register_keras_serializable(package="nnlab")
class RMSprop(CoupledL2, keras.optimizers.RMSprop):
    """Keras RMSprop with optional coupled L2."""

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(self.coupled(gradient, variable), variable, learning_rate)


def make_optimizer(name: str, lr, global_clipnorm: float | None = None,
                   regularization: Regularization = PLAIN) -> keras.optimizers.Optimizer:
    """Optimizer `name` at learning rate `lr` (a number or a schedule), with `regularization`'s
    weight decay and SGD's momentum; `global_clipnorm` scales each step's gradients so that their
    norm over all variables is at most that (torch: `clip_grad_norm_`, before the coupled decay)."""
    s = regularization.settings(name)
    clip = {"global_clipnorm": global_clipnorm} if global_clipnorm else {}
    if name == "adam":
        optimizer = Adam(lr, beta_1=s["beta_1"], beta_2=s["beta_2"], epsilon=s["epsilon"], **clip)
    elif name == "adamw":
        return AdamW(lr, weight_decay=s["weight_decay"], beta_1=s["beta_1"], beta_2=s["beta_2"],
                     epsilon=s["epsilon"], **clip)
    elif name == "sgd":
        optimizer = SGD(lr, momentum=s["momentum"], nesterov=s["nesterov"], **clip)
    else:
        optimizer = RMSprop(lr, rho=s["rho"], epsilon=s["epsilon"], **clip)
    optimizer.coupled_weight_decay = s["weight_decay"]
    return optimizer


@keras.saving.register_keras_serializable(package="nnlab")
class LabSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`lr * modules.optim.lr_factor(schedule, step, total_steps, warmup_steps)` per optimizer step."""

    def __init__(self, lr: float, schedule: str, total_steps: int, warmup_steps: int = 0) -> None:
        self.lr, self.schedule, self.total_steps, self.warmup_steps = lr, schedule, total_steps, warmup_steps

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = float(self.warmup_steps)
        decay_steps = float(max(self.total_steps - self.warmup_steps, 1))
        after = ops.maximum(step - warmup, 0.0)
        if self.schedule == "cosine":
            factor = 0.5 * (1.0 + ops.cos(3.141592653589793 * ops.minimum(after, decay_steps) / decay_steps))
        elif self.schedule == "step":
            factor = ops.convert_to_tensor(1.0)
            for at, value in STEP_DECAY:
                factor = ops.where(after >= at * decay_steps, value, factor)
        else:
            factor = ops.convert_to_tensor(1.0)
        if self.warmup_steps:
            factor = ops.where(step < warmup, (step + 1.0) / warmup, factor)
        return self.lr * factor

    def get_config(self) -> dict:
        return {"lr": self.lr, "schedule": self.schedule, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps}
