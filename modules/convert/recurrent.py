"""Converters for recurrent layers: Elman (nn.RNN), LSTM, GRU, and the lab's Jordan cell.

One torch `nn.RNN`/`nn.LSTM`/`nn.GRU` holds every stacked layer and direction;
its Keras twin is one layer per stacked layer, named `<torch path>.l{k}` (a
`Bidirectional` wrapper when torch has `_reverse` weights), so these converters
return `{"l{k}": weights}` and `transfer` fills each of those layers.

Layouts: torch keeps (gates*H, in) matrices and two biases (input and recurrent);
Keras keeps (in, gates*H) kernels and one bias, except the GRU with
`reset_after=True`, whose bias has both rows (2, 3H). Gate orders: LSTM i,f,g,o
in both; GRU r,z,n in torch and z,r,h in Keras.
"""
from __future__ import annotations

import numpy as np
from torch import nn

from modules.convert import converter, folded_parameters, numpy_of
from modules.recurrent.torch_net import JordanCell


def gru_gates_to_keras(array: np.ndarray) -> np.ndarray:
    """Reorder the gate blocks along axis 0 from torch's (r, z, n) to Keras's (z, r, h)."""
    r, z, n = np.split(array, 3, axis=0)
    return np.concatenate([z, r, n], axis=0)


def direction_weights(module: nn.RNNBase, suffix: str) -> list[np.ndarray]:
    """Keras weights of one torch layer-direction (`suffix` like `_l0` or `_l1_reverse`)."""
    w_ih, w_hh = (numpy_of(getattr(module, f"weight_{kind}{suffix}")) for kind in ("ih", "hh"))
    b_ih, b_hh = (numpy_of(getattr(module, f"bias_{kind}{suffix}")) if module.bias
                  else np.zeros(w_ih.shape[0], np.float32) for kind in ("ih", "hh"))
    if isinstance(module, nn.GRU):
        w_ih, w_hh, b_ih, b_hh = map(gru_gates_to_keras, (w_ih, w_hh, b_ih, b_hh))
        return [w_ih.T, w_hh.T, np.stack([b_ih, b_hh])]  # reset_after=True: (2, 3H) bias
    return [w_ih.T, w_hh.T, b_ih + b_hh]  # the recurrent bias is redundant: fold it in


@converter(nn.RNN, nn.LSTM, nn.GRU)
def recurrent(module: nn.RNNBase, layer) -> dict[str, list]:
    if isinstance(module, nn.LSTM) and module.proj_size:
        raise ValueError("LSTM with proj_size has no Keras twin")
    directions = ["", "_reverse"] if module.bidirectional else [""]
    # Bidirectional.get_weights() is the forward layer's weights, then the backward layer's
    return {f"l{k}": [w for d in directions for w in direction_weights(module, f"_l{k}{d}")]
            for k in range(module.num_layers)}


@folded_parameters(nn.RNN, nn.LSTM,
                   reason="PyTorch's second bias vector (bias_hh) in RNN and LSTM layers, "
                          "summed into Keras's single bias")
def second_biases(module: nn.RNNBase) -> int:
    return sum(p.numel() for name, p in module.named_parameters() if name.startswith("bias_hh"))


@converter(JordanCell)
def jordan_cell(module: JordanCell, layer) -> list:
    # keras.layers.RNN(JordanCell) weights: kernel, feedback_kernel, bias, output_kernel, output_bias
    return [numpy_of(module.weight_ih).T, numpy_of(module.weight_yh).T, numpy_of(module.bias_h),
            numpy_of(module.weight_ho).T, numpy_of(module.bias_o)]
