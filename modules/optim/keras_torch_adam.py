"""Keras's Adam and AdamW with torch's epsilon placement, so the twins take the same steps.

torch (https://pytorch.org/docs/stable/generated/torch.optim.Adam.html) divides the bias-
corrected moments: `lr * m_hat / (sqrt(v_hat) + eps)`. Keras folds the corrections into the
step size, `lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`, which is torch's update with
an epsilon of `eps / sqrt(1 - b2^t)`: 32x torch's at the first step. Where gradients are as
small as epsilon (batch-norm shifts, late training) the two frameworks then move apart; these
classes compute torch's formula in Keras. Decoupled weight decay (AdamW) is already the same:
both shrink each weight by `lr * weight_decay` before the Adam step.
"""
from __future__ import annotations

import keras
from keras import ops


class TorchEpsilonPlacement:
    """Adam's `update_step` with the bias corrections applied before epsilon, as torch does."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        step = ops.cast(self.iterations + 1, variable.dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), step)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), step)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        if self.amsgrad:
            v_hat = self._velocity_hats[self._get_variable_index(variable)]
            self.assign(v_hat, ops.maximum(v_hat, v))
            v = v_hat
        denominator = ops.add(ops.divide(ops.sqrt(v), ops.sqrt(1 - beta_2_power)), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / (1 - beta_1_power)), denominator))


@keras.saving.register_keras_serializable(package="nnlab")
class TorchAdam(TorchEpsilonPlacement, keras.optimizers.Adam):
    """`keras.optimizers.Adam` computing torch's update (see the module docstring)."""


@keras.saving.register_keras_serializable(package="nnlab")
class TorchAdamW(TorchEpsilonPlacement, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` computing torch's update (see the module docstring)."""
