"""Twins that learn alike: both frameworks train one network from the same start on the same batches.

Forward parity (`experiments.parity`) proves one network; this proves one *training*. The torch
twin is built, its initial weights go to the Keras twin (`modules.convert.transfer`), and each
step feeds both the same batch (the datamodule's seeded epoch order), with each framework's lab
optimizer (`modules.optim`). The per-step training losses and the final weights are compared
relative to their scale. Where the frameworks' defaults differ (batch-norm momentum convention,
Adam's epsilon, weight-decay coupling, initialisers) the lab maps them: docs/architecture.md.

Dropout draws different masks in the two frameworks, so twins train with dropout off (a network's
`dropout` hyperparameters set to 0, said in the output).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from datamodules.core import epoch_order
from modules import backend
from modules.errors import UserError


@dataclass
class TwinsResult:
    """Per-step training losses of both twins and how far apart they end."""

    torch_losses: list[float] = field(default_factory=list)
    keras_losses: list[float] = field(default_factory=list)
    max_weight_rel_diff: float = float("nan")  # trainable weights, see `global_relative_difference`
    running_stats_rel_diff: float = float("nan")  # batch-norm moving statistics (0 when there are none)
    worst_weight: str = ""

    def loss_rel_diffs(self) -> list[float]:
        """|torch - keras| / |torch| at each step."""
        return [abs(t - k) / max(abs(t), 1e-12) for t, k in zip(self.torch_losses, self.keras_losses)]


def dropout_off(hparams: dict) -> tuple[dict, list[str]]:
    """`hparams` with every dropout rate set to 0, and the names changed."""
    changed = [k for k, v in hparams.items() if "dropout" in k and isinstance(v, float) and v > 0]
    return {**hparams, **{k: 0.0 for k in changed}}, changed


def check_classifier(arch, info) -> None:
    """UserError unless `arch` is a classifier and `info` (a `DatasetInfo`) classification data:
    asks the registry and the catalog only, so a command can refuse before any data loads."""
    if arch.task != "classify" or info.task != "classify":
        raise UserError(f"nnlab twins compares classifiers on classification data; got {arch.name} "
                        f"({arch.task}) on {info.name} ({info.task})")


def global_relative_difference(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """||a - b|| / ||a|| over every pair together (as np.allclose weighs a whole model): a tensor
    that starts at zero, such as a batch-norm shift, has no scale of its own."""
    norm = sum(float((a.astype(np.float64) ** 2).sum()) for a, _ in pairs)
    gap = sum(float(((a.astype(np.float64) - b) ** 2).sum()) for a, b in pairs)
    return float(np.sqrt(gap / norm)) if norm > 0 else float(np.sqrt(gap))


def train_twins(plan, datamodule, steps: int, on_step=None, dtype: str = "float32") -> TwinsResult:
    """Train the torch and Keras twins of `plan`'s network for `steps` optimizer steps on the same
    batches from the same initial weights; `on_step(step, torch_loss, keras_loss)` after each.

    `dtype="float64"` trains both in double precision: Adam's first steps move each weight by
    about lr * sign(gradient), so a weight whose gradient is at float32's rounding noise moves
    either way; in float64 that noise is gone and what is left is any difference in the
    algorithms themselves (docs/architecture.md)."""
    torch = backend.torch()
    keras = backend.keras()
    import tensorflow as tf

    from experiments.recipes import regularization_of
    from modules.convert import transfer
    from modules.optim.keras_optim import make_optimizer as keras_optimizer
    from modules.optim.torch_optim import make_optimizer as torch_optimizer

    config, arch = plan.config, plan.arch
    check_classifier(arch, datamodule.info)
    shape, classes = datamodule.input_shape, datamodule.num_classes
    regularization = regularization_of(config)  # --weight-decay, --momentum, --nesterov, AdamW's decay
    torch.manual_seed(config.seed)
    torch_net = arch.build("torch", shape, classes, **config.hparams).to(getattr(torch, dtype)).train()
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)  # a policy set earlier in the process (--precision) wins over floatx
    try:
        keras_net = arch.build("keras", shape, classes, **config.hparams)
        reference = arch.build("keras", shape, classes, **config.hparams)  # for the final comparison
        keras_opt = keras_optimizer(config.optimizer, config.lr,  # its learning rate in `dtype` too
                                    regularization=regularization)
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)
    transfer(torch_net, keras_net)
    torch_opt = torch_optimizer(config.optimizer, torch_net.parameters(), config.lr, regularization)
    x_all, y_all = datamodule.arrays("train")
    batch, result = config.batch_size, TwinsResult()
    order, epoch = np.empty(0, dtype=int), 0
    for step in range(steps):
        if len(order) < batch:  # the next epoch's seeded order, as the datamodule serves it
            order = np.concatenate([order, epoch_order(len(x_all), config.seed, epoch)])
            epoch += 1
        index, order = order[:batch], order[batch:]
        x, y = x_all[index].astype(dtype), y_all[index].astype(np.int64)

        torch_opt.zero_grad(set_to_none=True)
        logits = torch_net(torch.from_numpy(x))
        if isinstance(logits, tuple):
            raise UserError(f"{arch.name} returns auxiliary outputs in training: pass --set aux_logits=false")
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
        loss.backward()
        torch_opt.step()

        x_keras = np.moveaxis(x, 1, -1) if x.ndim == 4 else x
        with tf.GradientTape() as tape:
            keras_logits = keras_net(x_keras, training=True)
            keras_loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(
                y, keras_logits, from_logits=True))
        grads = tape.gradient(keras_loss, keras_net.trainable_variables)
        keras_opt.apply(grads, keras_net.trainable_variables)

        result.torch_losses.append(loss.item())
        result.keras_losses.append(float(keras_loss))
        if on_step is not None:
            on_step(step, result.torch_losses[-1], result.keras_losses[-1])

    transfer(torch_net.eval(), reference)  # the torch twin's final weights in Keras's layout
    trained = {id(v) for v in keras_net.trainable_weights}
    pairs = [(own.path, np.asarray(ref), np.asarray(own), id(own) in trained)
             for ref, own in zip(reference.weights, keras_net.weights)]
    result.max_weight_rel_diff = global_relative_difference([(a, b) for _, a, b, t in pairs if t])
    result.running_stats_rel_diff = global_relative_difference([(a, b) for _, a, b, t in pairs if not t])
    result.worst_weight = max((p for p in pairs if p[3]), key=lambda p: float(np.abs(p[1] - p[2]).max()))[0]
    return result

