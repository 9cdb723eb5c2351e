"""Echo state network (PyTorch). Twin of `keras_net.py`; modules `reservoir` and `readout`.

The reservoir's matrices come from `modules.reservoir.spec.reservoir_matrices`
(NumPy, from the seed), so both frameworks hold the same reservoir. They are
parameters with `requires_grad=False`: counted like Keras's non-trainable
weights, never changed by an optimizer.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from modules.reservoir.spec import reservoir_matrices


class Reservoir(nn.Module):
    """A leaky-integrator tanh reservoir run over a sequence; returns the last state."""

    def __init__(self, inputs: int, units: int, spectral_radius: float, leak_rate: float,
                 input_scaling: float, density: float, seed: int) -> None:
        super().__init__()
        m = reservoir_matrices(units, inputs, spectral_radius, density, input_scaling, seed)
        self.weight = nn.Parameter(torch.from_numpy(m.w), requires_grad=False)  # (units, units)
        self.input_weight = nn.Parameter(torch.from_numpy(m.w_in), requires_grad=False)  # (units, inputs)
        self.bias = nn.Parameter(torch.from_numpy(m.bias), requires_grad=False)  # (units,)
        self.leak_rate = leak_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:  # (B, T) -> (B, T, 1)
            x = x.unsqueeze(-1)
        drive = x @ self.input_weight.T + self.bias  # (B, T, units)
        state = drive.new_zeros(drive.shape[0], drive.shape[2])  # (B, units)
        for t in range(drive.shape[1]):
            state = self.update(state, drive[:, t])
        return state

    def update(self, state: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
        """The next state from `state` (B, units) and the input's drive w_in u + bias (B, units)."""
        return (1 - self.leak_rate) * state + self.leak_rate * torch.tanh(drive + state @ self.weight.T)

    def step(self, state: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """One step from `state` (B, units) reading `inputs` (B, inputs): a run that goes on."""
        return self.update(state, inputs @ self.input_weight.T + self.bias)


class ESN(nn.Module):
    """Reservoir, then a linear readout of its last state.

    `closed_form_readout` tells the task to fit the readout by ridge regression
    (`ridge`) instead of by gradient descent.
    """

    def __init__(self, input_shape: tuple, num_classes: int, *, units: int, spectral_radius: float,
                 leak_rate: float, input_scaling: float, density: float, ridge: float, seed: int,
                 readout: str) -> None:
        super().__init__()
        inputs = input_shape[-1] if len(input_shape) == 2 else 1
        self.reservoir = Reservoir(inputs, units, spectral_radius, leak_rate, input_scaling, density, seed)
        self.readout = nn.Linear(units, num_classes)
        self.closed_form_readout, self.ridge = readout == "ridge", ridge

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The reservoir's last state, (B, units): what the readout reads."""
        return self.reservoir(x)

    def set_readout(self, weights: np.ndarray, bias: np.ndarray) -> None:
        """Load a readout fitted elsewhere: weights (units, outputs), bias (outputs,)."""
        with torch.no_grad():
            self.readout.weight.copy_(torch.from_numpy(np.asarray(weights, np.float32).T))
            self.readout.bias.copy_(torch.from_numpy(np.asarray(bias, np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.reservoir(x))  # (B, num_classes)


def esn(input_shape: tuple, num_classes: int, *, units: int, spectral_radius: float, leak_rate: float,
        input_scaling: float, density: float, ridge: float, seed: int, readout: str) -> ESN:
    """Echo state network (Jaeger 2001, https://www.ai.rug.nl/minds/uploads/EchoStatesTechRep.pdf)."""
    return ESN(tuple(input_shape), num_classes, units=units, spectral_radius=spectral_radius,
               leak_rate=leak_rate, input_scaling=input_scaling, density=density, ridge=ridge, seed=seed,
               readout=readout)
