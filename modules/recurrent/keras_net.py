"""Recurrent sequence classifiers (Keras). Mirrors `modules/torch/recurrent.py`.

Each torch recurrent layer k becomes a Keras layer named `rnn.l{k}` (a
`Bidirectional` wrapper for the bidirectional networks), so the converter in
`modules/convert/recurrent.py` maps torch's `weight_ih_l{k}[_reverse]` onto it.
GRUs use `reset_after=True`, which is torch's GRU equation. Keras has no Jordan
cell: `JordanCell` below is torch's `JordanCell`, run by `keras.layers.RNN`.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from modules.recurrent.spec import RECURRENT_CELLS, sequence_shape


@keras.saving.register_keras_serializable(package="nnlab")
class JordanCell(layers.Layer):
    """One step of a Jordan network: the previous output is fed back with the input.

        h_t = tanh(x_t W_ih + y_{t-1} W_yh + b_h)   hidden layer (state: y_{t-1}, not h_{t-1})
        y_t = tanh(h_t W_ho + b_o)                  the cell's output layer, fed back next step
    """

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units
        self.output_size = units

    def build(self, input_shape) -> None:
        init = keras.initializers.RandomUniform(-self.units ** -0.5, self.units ** -0.5)  # torch's
        self.kernel = self.add_weight((input_shape[-1], self.units), init, name="kernel")
        self.feedback_kernel = self.add_weight((self.units, self.units), init, name="feedback_kernel")
        self.bias = self.add_weight((self.units,), init, name="bias")
        self.output_kernel = self.add_weight((self.units, self.units), init, name="output_kernel")
        self.output_bias = self.add_weight((self.units,), init, name="output_bias")

    def call(self, inputs, states):  # (B, F), [(B, H)]
        y_prev = states[0]
        h = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(y_prev, self.feedback_kernel) + self.bias)
        y = ops.tanh(ops.matmul(h, self.output_kernel) + self.output_bias)
        return y, [y]

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


def _recurrent_layer(cell: str, units: int, return_sequences: bool, name: str | None = None) -> layers.Layer:
    """One Keras recurrent layer computing the same function as its torch twin."""
    if cell == "jordan":
        return layers.RNN(JordanCell(units), return_sequences=return_sequences, name=name)
    if cell == "rnn":
        return layers.SimpleRNN(units, return_sequences=return_sequences, name=name)  # tanh
    if cell == "lstm":
        return layers.LSTM(units, return_sequences=return_sequences, name=name)  # sigmoid gates, tanh
    return layers.GRU(units, reset_after=True, return_sequences=return_sequences, name=name)


def _create_recurrent(name: str, input_shape: tuple, num_classes: int, hidden_size: int,
                      num_layers: int, dropout: float) -> keras.Model:
    cell, bidirectional, _ = RECURRENT_CELLS[name]
    steps, features = sequence_shape(input_shape)
    inputs = keras.Input(tuple(input_shape))
    x = layers.Reshape((steps, features))(inputs) if len(input_shape) == 1 else inputs  # (B, T, F)
    for k in range(num_layers):
        last = k == num_layers - 1  # only the last layer's final state goes on to the head
        if cell == "jordan":  # torch twin: rnn.layers.{k}, one JordanCell each
            x = _recurrent_layer(cell, hidden_size, not last, name=f"rnn.layers.{k}")(x)
        elif bidirectional:  # concatenates [forward, backward], as torch's h_n[-2:] does
            x = layers.Bidirectional(_recurrent_layer(cell, hidden_size, not last), name=f"rnn.l{k}")(x)
        else:
            x = _recurrent_layer(cell, hidden_size, not last, name=f"rnn.l{k}")(x)
        if not last and dropout > 0:
            x = layers.Dropout(dropout)(x)  # between layers, as torch's recurrent dropout
    outputs = layers.Dense(num_classes, name="head")(x)
    return keras.Model(inputs, outputs, name=name)


def _builder(name: str):
    """The public builder of registered network `name` (its paper: RECURRENT_CELLS)."""
    def build(input_shape: tuple, num_classes: int = 10, hidden_size: int = 64, num_layers: int = 1,
              dropout: float = 0.0) -> keras.Model:
        return _create_recurrent(name, input_shape, num_classes, hidden_size, num_layers, dropout)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"{name}: {RECURRENT_CELLS[name][2]}"
    return build


elman, jordan, lstm, gru = _builder("elman"), _builder("jordan"), _builder("lstm"), _builder("gru")
birnn, bilstm, bigru = _builder("birnn"), _builder("bilstm"), _builder("bigru")
