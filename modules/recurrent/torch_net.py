"""Recurrent sequence classifiers (PyTorch). Twin of `keras_net.py`.

Elman, LSTM and GRU networks use torch's own `nn.RNN` / `nn.LSTM` / `nn.GRU`
(stacked with `num_layers`, `bidirectional` for the Schuster & Paliwal twins).
Torch has no Jordan cell, so `JordanCell` below writes it out and `Jordan` loops
it over time; the Keras twin holds the same cell with the same weights. Module names:
`rnn` (its stacked layer k is Keras's `rnn.l{k}`; Jordan's `rnn.layers.{k}`) and `head`.
Elman and Jordan start from `PLAIN_CELL_INIT` (see `spec.py`), as their Keras twins do.
"""
from __future__ import annotations

import torch
from torch import nn

from modules.recurrent.spec import PLAIN_CELL_INIT, PLAIN_CELLS, RECURRENT_VARIANTS, recurrent_builder, sequence_shape

TORCH_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
# Keras initialiser names -> torch.nn.init (Keras's orthogonal and glorot_uniform are torch's
# orthogonal_ and xavier_uniform_; a torch weight is (out, in), a Keras kernel (in, out): both
# distributions are the same for the transpose)
TORCH_INIT = {"glorot_uniform": nn.init.xavier_uniform_, "orthogonal": nn.init.orthogonal_, "zeros": nn.init.zeros_}


def init_plain_cell(weights: dict[str, nn.Parameter]) -> None:
    """Initialise an Elman or Jordan layer's named weights by `PLAIN_CELL_INIT`: names starting
    with "bias" are biases, "weight_ih" the input kernel, any other weight a recurrent matrix."""
    for name, weight in weights.items():
        role = "bias" if name.startswith("bias") else "input" if name.startswith("weight_ih") else "recurrent"
        TORCH_INIT[PLAIN_CELL_INIT[role]](weight)


class JordanCell(nn.Module):
    """One step of a Jordan network: the context units (the outputs fed back) join the input.

        h_t = tanh(W_ih x_t + W_yh c_{t-1} + b_h)   hidden layer (state: the context, not h_{t-1})
        y_t = tanh(W_ho h_t + b_o)                  the cell's output layer
        c_t = decay * c_{t-1} + y_t                 context units (decay 0: c_t = y_t)
    """

    def __init__(self, input_size: int, hidden_size: int, context_decay: float = 0.0) -> None:
        super().__init__()
        self.hidden_size, self.context_decay = hidden_size, context_decay
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_yh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # output -> hidden feedback
        self.bias_h = nn.Parameter(torch.empty(hidden_size))
        self.weight_ho = nn.Parameter(torch.empty(hidden_size, hidden_size))  # the output layer
        self.bias_o = nn.Parameter(torch.empty(hidden_size))
        init_plain_cell(dict(self.named_parameters()))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, F), (B, H) -> y_t, c_t."""
        h = torch.tanh(x @ self.weight_ih.T + context @ self.weight_yh.T + self.bias_h)
        y = torch.tanh(h @ self.weight_ho.T + self.bias_o)
        return y, self.context_decay * context + y if self.context_decay else y


class Jordan(nn.Module):
    """Stacked Jordan layers with nn.RNN's interface: (B, T, F) -> (outputs, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float,
                 context_decay: float = 0.0) -> None:
        super().__init__()
        self.layers = nn.ModuleList(JordanCell(input_size if k == 0 else hidden_size, hidden_size, context_decay)
                                    for k in range(num_layers))
        self.dropout = nn.Dropout(dropout)  # between layers, as nn.RNN applies it

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        finals = []
        for k, cell in enumerate(self.layers):
            if k > 0:
                x = self.dropout(x)
            context = x.new_zeros(x.shape[0], cell.hidden_size)
            outputs = []
            for t in range(x.shape[1]):
                y, context = cell(x[:, t], context)
                outputs.append(y)
            x = torch.stack(outputs, dim=1)  # (B, T, H)
            finals.append(y)
        return x, torch.stack(finals)  # (B, T, H), (L, B, H)


def recurrent_layer(cell: str, features: int, hidden_size: int, num_layers: int, bidirectional: bool,
                    dropout: float, context_decay: float = 0.0) -> nn.Module:
    """`num_layers` stacked recurrent layers of `cell` (dropout between them), batch first."""
    if cell == "jordan":
        return Jordan(features, hidden_size, num_layers, dropout, context_decay)
    layer = TORCH_LAYERS[cell](features, hidden_size, num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional)
    if cell in PLAIN_CELLS:
        init_plain_cell(dict(layer.named_parameters()))
    return layer


class RecurrentClassifier(nn.Module):
    """Recurrent layers over the sequence, then the last hidden state -> dense -> logits."""

    def __init__(self, input_shape: tuple, num_classes: int, *, variant: str, hidden_size: int,
                 num_layers: int, dropout: float, context_decay: float = 0.0) -> None:
        super().__init__()
        cell, bidirectional = RECURRENT_VARIANTS[variant].cell, RECURRENT_VARIANTS[variant].bidirectional
        _, features = sequence_shape(input_shape)
        self.directions = 2 if bidirectional else 1
        self.rnn = recurrent_layer(cell, features, hidden_size, num_layers, bidirectional, dropout,
                                   context_decay)
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
