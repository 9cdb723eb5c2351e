"""Every activation of the lab and its derivative, each computed by both frameworks' autograd.

The derivatives are not written by hand: torch's autograd and TensorFlow's
GradientTape differentiate the very layers the lab's networks use
(`modules/torch/layers.py`, `modules/keras/layers.py`), and the two answers are
compared point by point.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.plots import save_figure, subplots
from modules import backend
from modules.activations import ACTIVATIONS

# softmax is an output activation, not a hidden-layer choice: it maps a vector to
# probabilities. Plotted as the first probability of softmax([x, 0, 0]) against x.
PLOTTED = ACTIVATIONS[:4] + ("softmax",) + ACTIVATIONS[4:]
SOFTMAX_OTHER_LOGITS = (0.0, 0.0)


def torch_curve(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(x), f'(x)) by torch autograd, for the lab's torch activation `name`."""
    torch = backend.torch()
    from modules.toolkit.torch_layers import activation

    xt = torch.tensor(x, requires_grad=True)
    if name == "softmax":
        others = torch.tensor(SOFTMAX_OTHER_LOGITS, dtype=xt.dtype).expand(len(x), -1)
        y = torch.softmax(torch.cat([xt[:, None], others], dim=1), dim=1)[:, 0]
    else:
        y = activation(name)(xt)
    # every y_i depends on x_i alone, so d(sum y)/dx_i = f'(x_i)
    (grad,) = torch.autograd.grad(y.sum(), xt)
    return y.detach().numpy(), grad.numpy()


def keras_curve(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(x), f'(x)) by TensorFlow's GradientTape, for the lab's Keras activation `name`."""
    keras = backend.keras()
    tf = backend.tensorflow()
    from modules.toolkit.keras_layers import activation

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        if name == "softmax":
            others = tf.broadcast_to(tf.constant(SOFTMAX_OTHER_LOGITS, dtype=xt.dtype), (len(x), 2))
            y = keras.activations.softmax(tf.concat([xt[:, None], others], axis=1), axis=1)[:, 0]
        else:
            y = activation(name)(xt)
        total = tf.reduce_sum(y)
    return np.asarray(y), np.asarray(tape.gradient(total, xt))


def activation_curves(names: tuple[str, ...] = PLOTTED, low: float = -5.0, high: float = 5.0,
                      points: int = 401) -> dict:
    """{name: {"x", "torch": (f, f'), "keras": (f, f'), "max_diff_value", "max_diff_derivative"}}."""
    x = np.linspace(low, high, points, dtype=np.float32)
    curves = {}
    for name in names:
        t, k = torch_curve(name, x), keras_curve(name, x)
        curves[name] = {"x": x, "torch": t, "keras": k,
                        "max_diff_value": float(np.abs(t[0] - k[0]).max()),
                        "max_diff_derivative": float(np.abs(t[1] - k[1]).max())}
    return curves


def plot_activation_curves(curves: dict, path: Path) -> Path:
    """A grid: each activation (solid) and its derivative (dashed); torch lines, Keras dots."""
    cols = 3
    rows = -(-len(curves) // cols)
    fig, axes = subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, (name, c) in zip(axes.flat, curves.items()):
        x, (f_t, d_t), (f_k, d_k) = c["x"], c["torch"], c["keras"]
        ax.plot(x, f_t, color="C0", label="f(x), torch")
        ax.plot(x, d_t, color="C1", linestyle="--", label="f'(x), torch autograd")
        every = slice(None, None, 20)
        ax.plot(x[every], f_k[every], "o", color="C0", markersize=3, label="f(x), keras")
        ax.plot(x[every], d_k[every], "o", color="C1", markersize=3, label="f'(x), GradientTape")
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.axvline(0, color="grey", linewidth=0.5)
        title = "softmax([x, 0, 0])[0]" if name == "softmax" else name
        ax.set_title(f"{title}  (max |torch-keras| f' {c['max_diff_derivative']:.1e})", fontsize=9)
    for ax in list(axes.flat)[len(curves):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Activations and their derivatives, by each framework's autograd")
    fig.tight_layout()
    save_figure(fig, path)
    return path
