"""Converters for dense, convolution and normalisation layers."""
from __future__ import annotations

from torch import nn

from modules.convert import converter, numpy_of


@converter(nn.Linear)
def linear(module: nn.Linear, layer) -> list:
    weights = [numpy_of(module.weight).T]  # (out, in) -> (in, out)
    return weights + ([numpy_of(module.bias)] if module.bias is not None else [])


@converter(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def conv(module, layer) -> list:
    kernel = numpy_of(module.weight)  # (O, I/groups, *K)
    rank = kernel.ndim - 2
    if getattr(layer, "depth_multiplier", None) is not None and module.groups > 1:  # depthwise
        kernel = kernel.transpose(*range(2, 2 + rank), 0, 1)  # (*K, C, 1)
    else:
        kernel = kernel.transpose(*range(2, 2 + rank), 1, 0)  # (*K, I, O)
    return [kernel] + ([numpy_of(module.bias)] if module.bias is not None else [])


@converter(nn.ConvTranspose1d, nn.ConvTranspose2d)
def conv_transpose(module, layer) -> list:
    kernel = numpy_of(module.weight)  # (I, O, *K); Keras wants (*K, O, I)
    rank = kernel.ndim - 2
    kernel = kernel.transpose(*range(2, 2 + rank), 1, 0)
    return [kernel] + ([numpy_of(module.bias)] if module.bias is not None else [])


@converter(nn.BatchNorm1d, nn.BatchNorm2d)
def batch_norm(module, layer) -> list:
    weights = []
    if module.affine:
        weights += [numpy_of(module.weight), numpy_of(module.bias)]  # gamma, beta
    return weights + [numpy_of(module.running_mean), numpy_of(module.running_var)]


@converter(nn.LayerNorm)
def layer_norm(module, layer) -> list:
    return [numpy_of(module.weight), numpy_of(module.bias)]


@converter(nn.Embedding)
def embedding(module, layer) -> list:
    return [numpy_of(module.weight)]
