"""Converter for the one-layer recurrences of the attention networks.

`SequenceGRU`/`SequenceLSTM` (modules/attention/torch_net.py) are torch GRU/LSTM
layers whose Keras twin is ONE layer of the same name: a GRU/LSTM, or a
Bidirectional wrapper over two. The layouts and gate orders are those of
`modules/convert/recurrent.py`, whose `direction_weights` converts each direction
(and whose `second_biases` accounts for the LSTM's folded recurrent bias).
"""
from __future__ import annotations

from torch import nn

from modules.attention.torch_net import SequenceGRU, SequenceLSTM
from modules.convert import converter
from modules.convert.recurrent import direction_weights


@converter(SequenceGRU, SequenceLSTM)
def sequence_rnn(module: nn.RNNBase, layer) -> list:
    # a Bidirectional layer's get_weights() is the forward layer's, then the backward layer's
    return [w for suffix in (["_l0", "_l0_reverse"] if module.bidirectional else ["_l0"])
            for w in direction_weights(module, suffix)]
