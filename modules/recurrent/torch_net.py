"""Recurrent sequence classifiers (PyTorch). Twin of `keras_net.py`.

Elman, LSTM and GRU networks use torch's own `nn.RNN` / `nn.LSTM` / `nn.GRU`
(stacked with `num_layers`, `bidirectional` for the Schuster & Paliwal twins).
Torch has no Jordan cell, so `JordanCell` below writes it out and `Jordan` loops
it over time; the Keras twin holds the same cell with the same weights. Module names:
`rnn` (its stacked layer k is Keras's `rnn.l{k}`; Jordan's `rnn.layers.{k}`) and `head`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from modules.recurrent.spec import RECURRENT_VARIANTS, recurrent_builder, sequence_shape

TORCH_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class JordanCell(nn.Module):
    """One step of a Jordan network: the previous output is fed back with the input.

        h_t = tanh(W_ih x_t + W_yh y_{t-1} + b_h)   hidden layer (state: y_{t-1}, not h_{t-1})
        y_t = tanh(W_ho h_t + b_o)                  the cell's output layer, fed back next step
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_yh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # output -> hidden feedback
        self.bias_h = nn.Parameter(torch.empty(hidden_size))
        self.weight_ho = nn.Parameter(torch.empty(hidden_size, hidden_size))  # the output layer
        self.bias_o = nn.Parameter(torch.empty(hidden_size))
        bound = 1 / math.sqrt(hidden_size)  # nn.RNN's initialisation
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor, y_prev: torch.Tensor) -> torch.Tensor:  # (B, F), (B, H)
        h = torch.tanh(x @ self.weight_ih.T + y_prev @ self.weight_yh.T + self.bias_h)
        return torch.tanh(h @ self.weight_ho.T + self.bias_o)  # (B, H): y_t


class Jordan(nn.Module):
    """Stacked Jordan layers with nn.RNN's interface: (B, T, F) -> (outputs, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(JordanCell(input_size if k == 0 else hidden_size, hidden_size)
                                    for k in range(num_layers))
        self.dropout = nn.Dropout(dropout)  # between layers, as nn.RNN applies it

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        finals = []
        for k, cell in enumerate(self.layers):
            if k > 0:
                x = self.dropout(x)
            y = x.new_zeros(x.shape[0], cell.hidden_size)
            outputs = []
            for t in range(x.shape[1]):
                y = cell(x[:, t], y)
                outputs.append(y)
            x = torch.stack(outputs, dim=1)  # (B, T, H)
            finals.append(y)
        return x, torch.stack(finals)  # (B, T, H), (L, B, H)


def recurrent_layer(cell: str, features: int, hidden_size: int, num_layers: int, bidirectional: bool,
                    dropout: float) -> nn.Module:
    """`num_layers` stacked recurrent layers of `cell` (dropout between them), batch first."""
    if cell == "jordan":
        return Jordan(features, hidden_size, num_layers, dropout)
    return TORCH_LAYERS[cell](features, hidden_size, num_layers, batch_first=True,
                              dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional)


class RecurrentClassifier(nn.Module):
    """Recurrent layers over the sequence, then the last hidden state -> dense -> logits."""

    def __init__(self, input_shape: tuple, num_classes: int, *, variant: str, hidden_size: int,
                 num_layers: int, dropout: float) -> None:
        super().__init__()
        cell, bidirectional = RECURRENT_VARIANTS[variant].cell, RECURRENT_VARIANTS[variant].bidirectional
        _, features = sequence_shape(input_shape)
        self.directions = 2 if bidirectional else 1
        self.rnn = recurrent_layer(cell, features, hidden_size, num_layers, bidirectional, dropout)
        self.head = nn.Linear(self.directions * hidden_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(-1)  # (B, T) -> (B, T, 1): one feature per step
        _, state = self.rnn(x)
        h_n = state[0] if isinstance(state, tuple) else state  # LSTM: (h_n, c_n); (L*D, B, H)
        last = torch.cat(list(h_n[-self.directions:]), dim=-1)  # last layer, forward then backward
        return self.head(last)  # (B, num_classes) logits


elman, jordan, lstm, gru, birnn, bilstm, bigru = (
    recurrent_builder(variant, RecurrentClassifier)
    for variant in ("elman", "jordan", "lstm", "gru", "birnn", "bilstm", "bigru"))
