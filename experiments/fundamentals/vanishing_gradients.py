"""Vanishing gradients: per-layer gradient norms of deep MLPs, in both frameworks.

For each depth and hidden activation, the registry's `mlp` is built in torch,
its weights are copied into the Keras twin (`modules.convert.transfer`), and
both are measured on the same fixed batch of `digits`: the norm of dLoss/dW for
every dense layer, at initialisation and again after a few epochs of Adam on
the same batches. Backpropagation multiplies the error signal by W^T and by
f'(z) once per layer on its way to the input; sigmoid's f' is at most 1/4, so
its gradients shrink geometrically toward the input layers, while relu's f' is
1 wherever a unit is active and the norms stay of one order.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from experiments.plots import save_figure, subplots
from modules import backend

PROBE_SIZE = 256  # samples of the fixed batch the gradients are measured on


def torch_gradient_norms(network, x: np.ndarray, y: np.ndarray) -> list[float]:
    """||dLoss/dW|| of every nn.Linear of `network`, input layer first."""
    torch = backend.torch()
    import torch.nn.functional as F

    linears = [m for m in network.modules() if isinstance(m, torch.nn.Linear)]
    network.zero_grad()
    F.cross_entropy(network(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    norms = [float(layer.weight.grad.norm()) for layer in linears]
    network.zero_grad()
    return norms


def keras_gradient_norms(network, x: np.ndarray, y: np.ndarray) -> list[float]:
    """||dLoss/dW|| of every Dense kernel of `network` (by GradientTape), input layer first."""
    keras = backend.keras()
    tf = backend.tensorflow()

    kernels = [layer.kernel for layer in network.layers if isinstance(layer, keras.layers.Dense)]
    with tf.GradientTape() as tape:
        logits = network(x, training=True)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
    return [float(tf.norm(g)) for g in tape.gradient(loss, kernels)]


def train_torch(network, datamodule, epochs: int, lr: float) -> list[float]:
    """Adam on the datamodule's training batches; the mean training loss of each epoch."""
    backend.torch()  # before anything imports TensorFlow
    import torch.nn.functional as F

    from modules.optim.torch_optim import make_optimizer

    optimizer = make_optimizer("adam", network.parameters(), lr)
    loader = datamodule.train_dataloader()
    losses = []
    network.train()
    for epoch in range(epochs):
        loader.batch_sampler.set_epoch(epoch)  # the same order as the Keras pipeline's epoch
        total = count = 0.0
        for x, y in loader:
            loss = F.cross_entropy(network(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count = total + loss.item() * len(y), count + len(y)
        losses.append(total / count)
    return losses


def train_keras(network, datamodule, epochs: int, lr: float) -> list[float]:
    """Adam on the same batches as `train_torch`; the mean training loss of each epoch."""
    keras = backend.keras()
    tf = backend.tensorflow()

    from modules.optim.keras_optim import make_optimizer

    optimizer = make_optimizer("adam", lr)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
                y, network(x, training=True), from_logits=True))
        grads = tape.gradient(loss, network.trainable_variables)
        optimizer.apply_gradients(zip(grads, network.trainable_variables))
        return loss

    steps = datamodule.steps_per_epoch("train")
    losses, total, count = [], 0.0, 0
    for i, (x, y) in enumerate(datamodule.keras_dataset("train", epochs=epochs)):
        total, count = total + float(step(x, y)) * len(y), count + len(y)
        if (i + 1) % steps == 0:
            losses.append(total / count)
            total, count = 0.0, 0
    return losses


def measure(depths: tuple[int, ...], activations: tuple[str, ...], frameworks: tuple[str, ...],
            width: int = 64, epochs: int = 5, lr: float = 1e-3, init: str = "xavier",
            batch_size: int = 64, seed: int = 0,
            progress: Callable[[str], None] = print) -> list[dict]:
    """One record per (depth, activation, framework): gradient norms by layer and training losses."""
    import datamodules
    from modules import registry
    from modules.convert import transfer

    torch = backend.torch()
    data = datamodules.create("digits", batch_size=batch_size, seed=seed)
    data.prepare_data()
    data.setup()
    x, y = data.arrays("train")
    x_keras, _ = data.arrays("train", layout="channels_last")
    probe, probe_keras, labels = x[:PROBE_SIZE], x_keras[:PROBE_SIZE], y[:PROBE_SIZE]
    mlp = registry.get("mlp")
    records = []
    for depth in depths:
        for activation in activations:
            hparams = dict(depth=depth, width=width, activation=activation, dropout=0.0, init=init)
            torch.manual_seed(seed)
            nets = {"torch": mlp.build("torch", data.input_shape, data.num_classes, **hparams)}
            if "keras" in frameworks:  # the same initial weights in both frameworks
                nets["keras"] = mlp.build("keras", data.input_shape, data.num_classes, **hparams)
                transfer(nets["torch"], nets["keras"])
            for framework in frameworks:
                net = nets[framework]
                if framework == "torch":
                    at_init = torch_gradient_norms(net, probe, labels)
                    losses = train_torch(net, data, epochs, lr)
                    trained = torch_gradient_norms(net, probe, labels)
                else:
                    at_init = keras_gradient_norms(net, probe_keras, labels)
                    losses = train_keras(net, data, epochs, lr)
                    trained = keras_gradient_norms(net, probe_keras, labels)
                record = {"depth": depth, "activation": activation, "framework": framework,
                          "init": at_init, "trained": trained, "train_loss": losses,
                          "ratio_init": at_init[0] / at_init[-1], "ratio_trained": trained[0] / trained[-1]}
                records.append(record)
                progress(f"  depth {depth:>3} {activation:<10} {framework:<5}  first/last layer "
                         f"gradient norm: init {record['ratio_init']:.2e}, trained "
                         f"{record['ratio_trained']:.2e}; loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    return records


def framework_agreement(records: list[dict]) -> float:
    """Largest relative difference between torch's and Keras's per-layer norms at initialisation."""
    by_key = {(r["depth"], r["activation"], r["framework"]): np.array(r["init"]) for r in records}
    worst = 0.0
    for (depth, activation, framework), norms in by_key.items():
        other = by_key.get((depth, activation, "keras"))
        if framework == "torch" and other is not None:
            worst = max(worst, float(np.max(np.abs(norms - other) / np.maximum(norms, 1e-30))))
    return worst


def _style(framework: str) -> dict:
    return {"linestyle": "-", "marker": "o", "markersize": 3} if framework == "torch" else \
        {"linestyle": "none", "marker": "x", "markersize": 6}


def plot_gradient_norms(records: list[dict], path: Path) -> Path:
    """Gradient norm by layer (log scale), one line per activation; rows: depths."""
    depths = sorted({r["depth"] for r in records})
    colours = {a: f"C{i}" for i, a in enumerate(dict.fromkeys(r["activation"] for r in records))}
    fig, axes = subplots(len(depths), 2, figsize=(12, 4 * len(depths)), squeeze=False)
    for row, depth in enumerate(depths):
        for col, when in enumerate(("init", "trained")):
            ax = axes[row, col]
            for r in (r for r in records if r["depth"] == depth):
                layers = np.arange(1, len(r[when]) + 1)
                label = f"{r['activation']} ({r['framework']})"
                ax.semilogy(layers, r[when], color=colours[r["activation"]], label=label,
                            **_style(r["framework"]))
            ax.set(xlabel="dense layer (1 = input side, last = output)", ylabel="||dLoss/dW||",
                   title=f"depth {depth}: {'at initialisation' if when == 'init' else 'after training'}")
            ax.grid(True, which="major", alpha=0.3)
    axes[0, 1].legend(fontsize=7, ncol=2, loc="lower right")
    fig.suptitle("Gradient norm by layer: torch (lines) and Keras (x), same initial weights")
    fig.tight_layout()
    save_figure(fig, path)
    return path


def plot_training_curves(records: list[dict], path: Path) -> Path:
    """Mean training loss per epoch, one line per activation and framework; one panel per depth."""
    depths = sorted({r["depth"] for r in records})
    colours = {a: f"C{i}" for i, a in enumerate(dict.fromkeys(r["activation"] for r in records))}
    fig, axes = subplots(1, len(depths), figsize=(6 * len(depths), 4), squeeze=False)
    for ax, depth in zip(axes[0], depths):
        for r in (r for r in records if r["depth"] == depth):
            epochs = np.arange(1, len(r["train_loss"]) + 1)
            ax.plot(epochs, r["train_loss"], color=colours[r["activation"]],
                    linestyle="-" if r["framework"] == "torch" else "--",
                    label=f"{r['activation']} ({r['framework']})")
        ax.axhline(np.log(10), color="grey", linewidth=0.8, linestyle=":")  # chance: ln(10 classes)
        ax.set(xlabel="epoch", ylabel="training loss", title=f"depth {depth} (dotted: chance, ln 10)")
    axes[0, -1].legend(fontsize=7, ncol=2)
    fig.suptitle("Training curves of the deep MLPs on digits: torch (solid), Keras (dashed)")
    fig.tight_layout()
    save_figure(fig, path)
    return path
