"""Small building blocks shared by the PyTorch networks."""
from __future__ import annotations

from torch import nn

from modules.activations import LEAKY_RELU_SLOPE, check_activation


def activation(name: str) -> nn.Module:
    """The activation layer called `name` (see `modules.activations`)."""
    check_activation(name)
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_RELU_SLOPE)
    if name == "gelu":
        return nn.GELU()  # exact erf form, as Keras's approximate=False
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU,
            "silu": nn.SiLU, "linear": nn.Identity}[name]()


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or frozen); buffers such as BN statistics excluded."""
    return sum(p.numel() for p in model.parameters())
