"""Converters for the one-layer recurrences of the attention networks.

`SequenceGRU`/`SequenceLSTM` (modules/torch/attention.py) are torch GRU/LSTM
layers whose Keras twin is ONE layer of the same name: a GRU/LSTM, or a
Bidirectional wrapper over two. torch holds (gates*H, in) matrices and two
biases; Keras holds (in, gates*H) kernels. GRU gates are r, z, n in torch and
z, r, h in Keras (`reset_after=True` keeps both biases as a (2, 3H) array);
LSTM gates are i, f, g, o in both, and Keras's single bias is the sum of two.
"""
from __future__ import annotations

import numpy as np
from torch import nn

from modules.convert import converter, folded_parameters, numpy_of
from modules.attention.torch_net import SequenceGRU, SequenceLSTM


def _gru_gates_to_keras(array: np.ndarray) -> np.ndarray:
    """Reorder the gate blocks along axis 0 from torch's (r, z, n) to Keras's (z, r, h)."""
    r, z, n = np.split(array, 3, axis=0)
    return np.concatenate([z, r, n], axis=0)


def _direction(module: nn.RNNBase, suffix: str) -> list[np.ndarray]:
    """Keras weights (kernel, recurrent kernel, bias) of one direction (`""` or `"_reverse"`)."""
    w_ih, w_hh, b_ih, b_hh = (numpy_of(getattr(module, f"{kind}_l0{suffix}"))
                              for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    if isinstance(module, nn.GRU):
        w_ih, w_hh, b_ih, b_hh = map(_gru_gates_to_keras, (w_ih, w_hh, b_ih, b_hh))
        return [w_ih.T, w_hh.T, np.stack([b_ih, b_hh])]  # reset_after=True: (2, 3H) bias
    return [w_ih.T, w_hh.T, b_ih + b_hh]  # LSTM: the recurrent bias folded in


@converter(SequenceGRU, SequenceLSTM)
def sequence_rnn(module: nn.RNNBase, layer) -> list:
    # a Bidirectional layer's get_weights() is the forward layer's, then the backward layer's
    return [w for suffix in (["", "_reverse"] if module.bidirectional else [""])
            for w in _direction(module, suffix)]


@folded_parameters(SequenceLSTM, reason="PyTorch's second bias vector (bias_hh) in LSTM layers, "
                                        "summed into Keras's single bias")
def second_biases(module: nn.LSTM) -> int:
    return sum(p.numel() for name, p in module.named_parameters() if name.startswith("bias_hh"))
