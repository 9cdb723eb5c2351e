"""Reservoir computing: the echo state network (Jaeger 2001).

The reservoir is fixed and random. It is made here, with NumPy from a seed, so
that the PyTorch and Keras networks load the very same matrices; the readout
is fitted in closed form by ridge regression (`RidgeAccumulator`, also NumPy,
shared by both frameworks) or, as an option, trained by gradient descent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modules.registry import Architecture, Param, register

READOUTS = ("ridge", "gradient")


@dataclass(frozen=True)
class ReservoirMatrices:
    """x_t = (1 - leak) x_{t-1} + leak tanh(w_in u_t + w x_{t-1} + bias), in reservoirpy's layout."""

    w: np.ndarray  # (units, units) recurrent weights, spectral radius as set
    w_in: np.ndarray  # (units, inputs)
    bias: np.ndarray  # (units,)


def reservoir_matrices(units: int, inputs: int, spectral_radius: float, density: float,
                       input_scaling: float, seed: int) -> ReservoirMatrices:
    """A sparse random reservoir rescaled to `spectral_radius`; the same for the same arguments.

    Recurrent weights are standard normal, each kept with probability `density`
    (at least one per row, so no unit is cut off), then divided by the largest
    eigenvalue modulus; input weights and bias are uniform in [-1, 1] times
    `input_scaling`. All float32, as both frameworks compute.
    """
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((units, units)) * (rng.random((units, units)) < density)
    empty = ~w.any(axis=1)
    w[empty, rng.integers(0, units, empty.sum())] = rng.standard_normal(empty.sum())
    radius = np.max(np.abs(np.linalg.eigvals(w)))
    w = w * (spectral_radius / radius) if radius > 0 else w
    w_in = rng.uniform(-1.0, 1.0, (units, inputs)) * input_scaling
    bias = rng.uniform(-1.0, 1.0, units) * input_scaling
    return ReservoirMatrices(w.astype(np.float32), w_in.astype(np.float32), bias.astype(np.float32))


class RidgeAccumulator:
    """Ridge regression of targets on reservoir states, from sums streamed batch by batch.

    Keeps S'S and S'Y of the states S augmented with a column of ones, in float64;
    `solve` returns the readout (weights (units, outputs), bias (outputs,)) that
    minimises |Y - S W - b|^2 + ridge |W|^2. The bias is not penalised, as in
    reservoirpy's Ridge (which centres the data instead).
    """

    def __init__(self, ridge: float) -> None:
        self.ridge = ridge
        self.reset()

    def reset(self) -> None:
        self.sts = self.sty = None
        self.yty, self.count = 0.0, 0

    def add(self, states: np.ndarray, targets: np.ndarray) -> None:
        s = np.concatenate([np.asarray(states, np.float64), np.ones((len(states), 1))], axis=1)
        y = np.asarray(targets, np.float64).reshape(len(states), -1)
        if self.sts is None:
            self.sts, self.sty = np.zeros((s.shape[1],) * 2), np.zeros((s.shape[1], y.shape[1]))
        self.sts += s.T @ s
        self.sty += s.T @ y
        self.yty += float((y * y).sum())
        self.count += len(s)

    def solve(self) -> tuple[np.ndarray, np.ndarray]:
        """(weights, bias) of the ridge readout fitted to everything added."""
        if not self.count:
            raise ValueError("no states were collected: the training split is empty")
        penalty = np.full(len(self.sts), self.ridge)
        penalty[-1] = 0.0  # the bias column
        a = self.sts + np.diag(penalty)
        try:
            solution = np.linalg.solve(a, self.sty)
        except np.linalg.LinAlgError:  # singular (ridge 0 and too few samples)
            solution = np.linalg.lstsq(a, self.sty, rcond=None)[0]
        return solution[:-1], solution[-1]

    def mean_squared_error(self, weights: np.ndarray, bias: np.ndarray) -> float:
        """Mean squared error (over samples and outputs) of a readout on the added data, from the sums."""
        solution = np.concatenate([weights, bias[None, :]])
        sse = self.yty - 2 * np.sum(solution * self.sty) + np.sum(solution * (self.sts @ solution))
        return max(float(sse), 0.0) / (self.count * solution.shape[1])


register(Architecture(name="esn", task="forecast", family="reservoir", module="reservoir",
                          default_data="mackey_glass",
    defaults={"units": 300, "spectral_radius": 0.9, "leak_rate": 0.3, "input_scaling": 1.0,
              "density": 0.1, "ridge": 1e-6, "seed": 42, "readout": "ridge"},
    space={
        "units": Param("int", 50, 1000, log=True, bounds=(1, 20000)),
        "spectral_radius": Param("float", 0.5, 1.5, bounds=(0.0, 10.0)),
        "leak_rate": Param("float", 0.05, 1.0, log=True, bounds=(1e-6, 1.0)),
        "input_scaling": Param("float", 0.1, 2.0, log=True, bounds=(0.0, 100.0)),
        "density": Param("float", 0.02, 0.5, log=True, bounds=(1e-6, 1.0)),
        "ridge": Param("float", 1e-9, 1e-2, log=True, bounds=(0.0, 1e6)),
        "seed": Param("int", 0, 1000, bounds=(0, 2**32 - 1)),
        "readout": Param("categorical", choices=READOUTS),
    },
    # `jaeger`: the reservoir of `nnlab esn-compare --protocol jaeger` (one long teacher-forced run,
    # washout, ridge readout, continuous free run; Jaeger 2001, Jaeger & Haas 2004): 1,000 units, 1%
    # of the recurrent weights, plain tanh units (no leak); radius, input scale and ridge chosen on
    # that protocol (docs/benchmarks.md)
    presets={"jaeger": {"units": 1000, "density": 0.01, "leak_rate": 1.0, "spectral_radius": 1.25,
                        "input_scaling": 0.5, "ridge": 1e-10}},
    # one pass collects the states and solves the readout; the gradient readout needs more
    train_defaults={"epochs": 1, "batch_size": 256},
    paper="Jaeger 2001, https://www.ai.rug.nl/minds/uploads/EchoStatesTechRep.pdf",
))
