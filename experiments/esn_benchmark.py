"""Jaeger's Mackey-Glass benchmark for echo state networks (Jaeger 2001,
https://www.ai.rug.nl/minds/uploads/EchoStatesTechRep.pdf; Jaeger & Haas 2004, Science 304:78,
https://doi.org/10.1126/science.1091277), run on one reservoir in torch, Keras and reservoirpy.

The protocol: the Mackey-Glass series (tau 17, sampled every time unit, squashed with
tanh(x - 1) as Jaeger does) drives the reservoir in one long teacher-forced run; the first
`washout` states are discarded and a ridge readout maps each later state (up to
`train_length`) to the next value. Then, from each of `trials` start points after training,
the network runs free and continuously from the teacher-forced state there, its own
prediction fed back as the next input (never restarted from zero). NRMSE84 is
sqrt(mean over trials of (prediction - truth)^2 at the 84th free-running step / var(series)),
in the series' own units (arctanh(y) + 1), Jaeger's measure (GMD Report 148, eq. 25).
All three read the same matrices (`modules.reservoir.spec.reservoir_matrices`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Protocol:
    """The benchmark's lengths, in series steps."""

    washout: int = 1000  # teacher-forced states discarded before the readout is fitted
    train_length: int = 3000  # teacher-forced steps whose states (after the washout) fit the readout
    horizon: int = 84  # free-running steps; the error is taken at the last one
    trials: int = 100  # free runs, from start points `stride` steps apart after the training stretch
    stride: int = 20

    @property
    def length(self) -> int:
        """Series values the protocol reads."""
        return self.train_length + self.trials * self.stride + self.horizon

    def starts(self) -> np.ndarray:
        """The index of the first free-running prediction of each trial."""
        return self.train_length + self.stride * np.arange(self.trials)


def to_original(values: np.ndarray) -> np.ndarray:
    """Squashed values back in Mackey-Glass units, arctanh(y) + 1: Jaeger scores NRMSE84 there
    (GMD Report 148, section 6.3.1)."""
    return np.arctanh(np.clip(np.asarray(values, np.float64), -1 + 1e-7, 1 - 1e-7)) + 1.0


def benchmark_series(protocol: Protocol) -> np.ndarray:
    """The lab's Mackey-Glass series (tau 17), squashed into (-1, 1) by tanh(x - 1) as Jaeger's setup."""
    from datamodules.timeseries import mackey_glass

    return np.tanh(mackey_glass(protocol.length) - 1.0)


def evaluate(step, initial_state: np.ndarray, series: np.ndarray, protocol: Protocol, fit_readout) -> dict:
    """Run the protocol with `step(states (B, units), inputs (B, 1)) -> states` and
    `fit_readout(states, targets) -> predict(states) -> (B,)`: the NRMSE at the horizon's step
    (`nrmse_horizon`, NRMSE84 at Jaeger's 84, in Mackey-Glass units), the readout's on its
    training states (squashed units), and the times."""
    start = time.perf_counter()
    state, states = initial_state[None, :], []
    for value in series[:protocol.length - protocol.horizon]:  # one long teacher-forced run
        state = step(state, np.array([[value]], np.float32))
        states.append(state[0])
    states = np.stack(states)  # states[t]: after reading series[t], predicts series[t + 1]
    teacher_forced_s = time.perf_counter() - start
    start = time.perf_counter()
    predict = fit_readout(states[protocol.washout:protocol.train_length],
                          series[protocol.washout + 1:protocol.train_length + 1])
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    starts = protocol.starts()
    state = states[starts - 1]  # every trial goes on from its teacher-forced state
    prediction = predict(state)  # of series[start]
    for _ in range(protocol.horizon - 1):
        state = step(state, prediction[:, None].astype(np.float32))
        prediction = predict(state)
    error = to_original(prediction) - to_original(series[starts + protocol.horizon - 1])
    return {"nrmse_horizon": float(np.sqrt(np.mean(error ** 2) / to_original(series).var())),
            "teacher_forced_s": teacher_forced_s, "fit_s": fit_s,
            "free_run_s": time.perf_counter() - start,
            "train_nrmse": float(np.sqrt(np.mean((predict(states[protocol.washout:protocol.train_length])
                                                  - series[protocol.washout + 1:protocol.train_length + 1]) ** 2)
                                         / series.var()))}


def lab_readout(ridge: float):
    """The lab's closed-form ridge readout (`RidgeAccumulator`), as `fit_readout`."""
    from modules.reservoir.spec import RidgeAccumulator

    def fit(states: np.ndarray, targets: np.ndarray):
        accumulator = RidgeAccumulator(ridge)
        accumulator.add(states, targets)
        weights, bias = accumulator.solve()
        return lambda s: np.asarray(s, np.float64) @ weights[:, 0] + bias[0]
    return fit


def framework_step(framework: str, hparams: dict):
    """`step` and the zero state of the lab's reservoir built in `framework`."""
    from modules import registry

    network = registry.get("esn").build(framework, (1, 1), 1, **hparams)
    if framework == "torch":
        import torch

        reservoir = network.reservoir

        def step(state, inputs):
            with torch.no_grad():
                return reservoir.step(torch.from_numpy(np.asarray(state, np.float32)),
                                      torch.from_numpy(inputs)).numpy()
    else:
        from keras import ops

        reservoir = network.get_layer("reservoir")

        def step(state, inputs):
            return ops.convert_to_numpy(reservoir.step(ops.convert_to_tensor(np.asarray(state, np.float32)),
                                                       ops.convert_to_tensor(inputs)))
    return step, np.zeros(hparams["units"], np.float32)


def reservoirpy_step(hparams: dict):
    """`step`, the zero state and the version of reservoirpy's Reservoir on the lab's matrices."""
    from reservoirpy import __version__ as version
    from reservoirpy.nodes import Reservoir

    from modules.reservoir.spec import reservoir_matrices

    m = reservoir_matrices(hparams["units"], 1, hparams["spectral_radius"], hparams["density"],
                           hparams["input_scaling"], hparams["seed"])
    node = Reservoir(units=hparams["units"], lr=hparams["leak_rate"], W=m.w.astype(np.float64),
                     Win=m.w_in.astype(np.float64), bias=m.bias.astype(np.float64))

    def step(state, inputs):  # reservoirpy steps one sequence: each trial in turn
        out = []
        for s, u in zip(state, inputs):
            node.state = {"out": np.asarray(s, np.float64)}
            out.append(node.step(np.asarray(u, np.float64)))
        return np.stack(out)
    return step, np.zeros(hparams["units"]), version


def reservoirpy_readout(ridge: float):
    """reservoirpy's Ridge node, as `fit_readout`."""
    from reservoirpy.nodes import Ridge

    def fit(states: np.ndarray, targets: np.ndarray):
        node = Ridge(ridge=ridge)
        node.fit(np.asarray(states, np.float64), np.asarray(targets, np.float64)[:, None])
        return lambda s: np.asarray(node.run(np.asarray(s, np.float64)))[:, 0]
    return fit


def compare(hparams: dict, frameworks: list[str], protocol: Protocol = Protocol(),
            reservoirpy: bool = True) -> list[dict]:
    """The protocol in each lab framework and reservoirpy, on the reservoir `hparams` makes."""
    series = benchmark_series(protocol).astype(np.float32)
    rows = []
    for framework in frameworks:
        step, state = framework_step(framework, hparams)
        rows.append({"implementation": f"nnlab {framework}",
                     **evaluate(step, state, series, protocol, lab_readout(hparams["ridge"]))})
    if reservoirpy:
        step, state, version = reservoirpy_step(hparams)
        rows.append({"implementation": f"reservoirpy {version}",
                     **evaluate(step, state, series, protocol, reservoirpy_readout(hparams["ridge"]))})
    return rows
