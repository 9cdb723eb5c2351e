"""Recurrent sequence classifiers (Keras). Twin of `torch_net.py`.

Each torch recurrent layer k becomes a Keras layer named `rnn.l{k}` (a
`Bidirectional` wrapper for the bidirectional networks; Jordan's `rnn.layers.{k}`), so the converter in
`modules/convert/recurrent.py` maps torch's `weight_ih_l{k}[_reverse]` onto it.
GRUs use `reset_after=True`, which is torch's GRU equation. Keras has no Jordan
cell: `JordanCell` below is torch's `JordanCell`, run by `keras.layers.RNN`.
Elman and Jordan start from `PLAIN_CELL_INIT` (see `spec.py`), as their torch twins do.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from modules.recurrent.spec import PLAIN_CELL_INIT, RECURRENT_VARIANTS, recurrent_builder, sequence_shape


@keras.saving.register_keras_serializable(package="nnlab")
class JordanCell(layers.Layer):
    """One step of a Jordan network: the context units (the outputs fed back) join the input.

        h_t = tanh(x_t W_ih + c_{t-1} W_yh + b_h)   hidden layer (state: the context, not h_{t-1})
        y_t = tanh(h_t W_ho + b_o)                  the cell's output layer
        c_t = decay * c_{t-1} + y_t                 context units (decay 0: c_t = y_t)
    """

    def __init__(self, units: int, context_decay: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units, self.context_decay = units, context_decay
        self.state_size = units
        self.output_size = units

    def build(self, input_shape) -> None:
        init = PLAIN_CELL_INIT
        self.kernel = self.add_weight((input_shape[-1], self.units), init["input"], name="kernel")
        self.feedback_kernel = self.add_weight((self.units, self.units), init["recurrent"], name="feedback_kernel")
        self.bias = self.add_weight((self.units,), init["bias"], name="bias")
        self.output_kernel = self.add_weight((self.units, self.units), init["recurrent"], name="output_kernel")
        self.output_bias = self.add_weight((self.units,), init["bias"], name="output_bias")

    def call(self, inputs, states):  # (B, F), [(B, H)]
        context = states[0]
        h = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(context, self.feedback_kernel) + self.bias)
        y = ops.tanh(ops.matmul(h, self.output_kernel) + self.output_bias)
        return y, [self.context_decay * context + y if self.context_decay else y]

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "context_decay": self.context_decay}


def recurrent_layer(cell: str, units: int, bidirectional: bool, return_sequences: bool,
                    name: str, context_decay: float = 0.0) -> layers.Layer:
    """One Keras recurrent layer computing the same function as its torch twin's layer."""
    if cell == "jordan":  # torch twin: rnn.layers.{k}, one JordanCell each
        cell_layer = JordanCell(units, context_decay, name=f"{name}.cell")
        return layers.RNN(cell_layer, return_sequences=return_sequences, name=name)
    if cell == "rnn":  # tanh
        layer = layers.SimpleRNN(units, return_sequences=return_sequences, name=name,
                                 kernel_initializer=PLAIN_CELL_INIT["input"],
                                 recurrent_initializer=PLAIN_CELL_INIT["recurrent"],
                                 bias_initializer=PLAIN_CELL_INIT["bias"])
    elif cell == "lstm":
        layer = layers.LSTM(units, return_sequences=return_sequences, name=name)  # sigmoid gates, tanh
    else:
        layer = layers.GRU(units, reset_after=True, return_sequences=return_sequences, name=name)
    # concatenates [forward, backward], as torch's h_n[-2:] does
    return layers.Bidirectional(layer, name=name) if bidirectional else layer


def recurrent_classifier(input_shape: tuple, num_classes: int, *, variant: str, hidden_size: int,
                         num_layers: int, dropout: float, context_decay: float = 0.0) -> keras.Model:
    """Recurrent layers over the sequence, then the last hidden state -> dense -> logits."""
    cell, bidirectional = RECURRENT_VARIANTS[variant].cell, RECURRENT_VARIANTS[variant].bidirectional
    steps, features = sequence_shape(input_shape)
    inputs = keras.Input(tuple(input_shape), name="input")
    x = inputs
    if len(input_shape) == 1:  # (B, T) -> (B, T, 1): one feature per step
        x = layers.Reshape((steps, features), name="steps")(x)
    for k in range(num_layers):
        last = k == num_layers - 1  # only the last layer's final state goes on to the head
        name = f"rnn.layers.{k}" if cell == "jordan" else f"rnn.l{k}"
        x = recurrent_layer(cell, hidden_size, bidirectional, not last, name, context_decay)(x)
        if not last and dropout > 0:
            x = layers.Dropout(dropout, name=f"rnn.dropout.l{k}")(x)  # between layers, as torch's
    outputs = layers.Dense(num_classes, name="head")(x)
    return keras.Model(inputs, outputs, name=variant)


elman, jordan, lstm, gru, birnn, bilstm, bigru = (
    recurrent_builder(variant, recurrent_classifier)
    for variant in ("elman", "jordan", "lstm", "gru", "birnn", "bilstm", "bigru"))
