"""Echo state network (Keras). Twin of `torch_net.py`; layers `reservoir` and `readout`.

The reservoir layer makes its matrices with `modules.reservoir.spec.reservoir_matrices`
(NumPy, from the seed) and keeps them as non-trainable weights, so it holds the
same reservoir as the PyTorch twin and is saved and reloaded from its config.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from modules.reservoir.spec import reservoir_matrices


@keras.saving.register_keras_serializable(package="nnlab")
class Reservoir(layers.Layer):
    """A leaky-integrator tanh reservoir run over a sequence; returns the last state.

    Weights, in `get_weights()` order: input kernel (inputs, units), recurrent
    kernel (units, units), bias (units,); all non-trainable.
    """

    def __init__(self, units: int, spectral_radius: float, leak_rate: float, input_scaling: float,
                 density: float, seed: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units, self.spectral_radius, self.leak_rate = units, spectral_radius, leak_rate
        self.input_scaling, self.density, self.seed = input_scaling, density, seed

    def build(self, input_shape) -> None:
        inputs = input_shape[-1] if len(input_shape) == 3 else 1
        m = reservoir_matrices(self.units, inputs, self.spectral_radius, self.density,
                               self.input_scaling, self.seed)
        self.input_kernel = self.add_weight(shape=(inputs, self.units), name="input_kernel",
                                            initializer="zeros", trainable=False)
        self.kernel = self.add_weight(shape=(self.units, self.units), name="kernel",
                                      initializer="zeros", trainable=False)
        self.bias = self.add_weight(shape=(self.units,), name="bias", initializer="zeros", trainable=False)
        self.input_kernel.assign(m.w_in.T)
        self.kernel.assign(m.w.T)
        self.bias.assign(m.bias)

    def call(self, x):
        if len(x.shape) == 2:  # (B, T) -> (B, T, 1)
            x = ops.expand_dims(x, -1)
        drive = ops.matmul(x, self.input_kernel) + self.bias  # (B, T, units)
        state = ops.zeros_like(drive[:, 0])  # (B, units)
        for t in range(x.shape[1]):
            state = self.update(state, drive[:, t])
        return state

    def update(self, state, drive):
        """The next state from `state` (B, units) and the input's drive u w_in + bias (B, units)."""
        return (1 - self.leak_rate) * state + self.leak_rate * ops.tanh(drive + ops.matmul(state, self.kernel))

    def step(self, state, inputs):
        """One step from `state` (B, units) reading `inputs` (B, inputs): a run that goes on."""
        return self.update(state, ops.matmul(inputs, self.input_kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "spectral_radius": self.spectral_radius,
                "leak_rate": self.leak_rate, "input_scaling": self.input_scaling,
                "density": self.density, "seed": self.seed}


def features_model(network: keras.Model) -> keras.Model:
    """The reservoir's last state, (B, units): what the readout reads."""
    return keras.Model(network.inputs, network.get_layer("reservoir").output)


def set_readout(network: keras.Model, weights: np.ndarray, bias: np.ndarray) -> None:
    """Load a readout fitted elsewhere: weights (units, outputs), bias (outputs,)."""
    network.get_layer("readout").set_weights([np.asarray(weights, np.float32), np.asarray(bias, np.float32)])


def esn(input_shape: tuple, num_classes: int, *, units: int, spectral_radius: float, leak_rate: float,
        input_scaling: float, density: float, ridge: float, seed: int, readout: str) -> keras.Model:
    """Echo state network (Jaeger 2001, https://www.ai.rug.nl/minds/uploads/EchoStatesTechRep.pdf)."""
    inputs = keras.Input(tuple(input_shape), name="input")
    states = Reservoir(units, spectral_radius, leak_rate, input_scaling, density, seed, name="reservoir")(inputs)
    outputs = layers.Dense(num_classes, name="readout")(states)
    model = keras.Model(inputs, outputs, name="esn")
    model.closed_form_readout, model.ridge = readout == "ridge", ridge
    return model
