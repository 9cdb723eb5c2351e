"""Linear collapse: without non-linear activations, depth buys nothing.

A stack of dense layers with the identity activation computes
W_L(...(W_2(W_1 x + b_1) + b_2)...) + b_L, which multiplies out to one affine map
W x + b: the same family of functions as logistic regression. On data no line
separates (two moons, two circles) the deep linear network therefore scores like
logistic regression, and the same network with relu scores far higher.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.plots import save_figure, subplots
from modules import backend
from modules.errors import UserError

DATASETS = ("moons", "circles")


def make_data(name: str, n: int = 2000, noise: float = 0.2, seed: int = 0, test_fraction: float = 0.3):
    """A 2-D, two-class set no straight line separates: standardised (x_train, y_train, x_test, y_test)."""
    from sklearn.datasets import make_circles, make_moons

    if name not in DATASETS:
        raise UserError(f"unknown data {name!r} for linear-collapse; valid: {', '.join(DATASETS)}")
    if name == "moons":
        x, y = make_moons(n, noise=noise, random_state=seed)
    else:
        x, y = make_circles(n, noise=noise / 2, factor=0.5, random_state=seed)
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(n * test_fraction)
    test, train = order[:n_test], order[n_test:]
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    x = ((x - mean) / std).astype(np.float32)
    return x[train], y[train].astype(np.int64), x[test], y[test].astype(np.int64)


def train_mlp(x: np.ndarray, y: np.ndarray, activation: str, depth: int, width: int, steps: int,
              lr: float, seed: int):
    """The registry's torch `mlp` (no dropout), trained full-batch with Adam."""
    torch = backend.torch()
    import torch.nn.functional as F

    from modules import registry
    from modules.optim.torch_optim import make_optimizer

    torch.manual_seed(seed)
    network = registry.get("mlp").build("torch", (x.shape[1],), 2, depth=depth, width=width,
                                        activation=activation, dropout=0.0)
    optimizer = make_optimizer("adam", network.parameters(), lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(steps):
        loss = F.cross_entropy(network(xt), yt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    network.eval()
    return network


def predictor(model):
    """A function (N, 2) float32 -> predicted class, for torch networks and sklearn models alike."""
    if hasattr(model, "predict"):
        return model.predict
    torch = backend.torch()

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(np.asarray(x, np.float32))).argmax(dim=1).numpy()
    return predict


def compare(data: str = "moons", depth: int = 6, width: int = 64, steps: int = 300, lr: float = 1e-2,
            seed: int = 0) -> dict:
    """Test accuracy of logistic regression, the deep linear MLP and the deep relu MLP."""
    from sklearn.linear_model import LogisticRegression

    x_train, y_train, x_test, y_test = make_data(data, seed=seed)
    models = {"logistic regression": LogisticRegression().fit(x_train, y_train),
              f"mlp depth {depth}, linear": train_mlp(x_train, y_train, "linear", depth, width, steps, lr, seed),
              f"mlp depth {depth}, relu": train_mlp(x_train, y_train, "relu", depth, width, steps, lr, seed)}
    results = {}
    for name, model in models.items():
        predict = predictor(model)
        results[name] = {"train_acc": float((predict(x_train) == y_train).mean()),
                         "test_acc": float((predict(x_test) == y_test).mean())}
    return {"data": data, "depth": depth, "width": width, "steps": steps, "lr": lr, "seed": seed,
            "results": results, "_models": models, "_arrays": (x_train, y_train, x_test, y_test)}


def plot_decision_boundaries(comparison: dict, path: Path) -> Path:
    """One panel per model: its predicted class over the plane, the test points on top."""
    x_train, y_train, x_test, y_test = comparison["_arrays"]
    both = np.concatenate([x_train, x_test])
    (x0, y0), (x1, y1) = both.min(axis=0) - 0.5, both.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    models = comparison["_models"]
    fig, axes = subplots(1, len(models), figsize=(4.5 * len(models), 4))
    for ax, (name, model) in zip(axes, models.items()):
        zone = predictor(model)(grid).reshape(gx.shape)
        ax.contourf(gx, gy, zone, levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
        ax.scatter(x_test[:, 0], x_test[:, 1], c=y_test, cmap="coolwarm", s=8, edgecolors="none")
        ax.set_title(f"{name}\ntest accuracy {comparison['results'][name]['test_acc']:.3f}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Linear collapse on {comparison['data']}: a deep linear network is one linear map")
    fig.tight_layout()
    save_figure(fig, path)
    return path
