"""What the PyTorch twins share: activations, batch norm with the lab's constants, counting.
Mirrors `modules/toolkit/keras_layers.py`."""
from __future__ import annotations

from torch import nn

from modules.activations import LEAKY_RELU_SLOPE, check_activation
from modules.toolkit.plans import TORCH_BN_EPSILON, TORCH_BN_MOMENTUM


def activation(name: str) -> nn.Module:
    """The activation layer called `name` (see `modules.activations`)."""
    check_activation(name)
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_RELU_SLOPE)
    if name == "gelu":
        return nn.GELU()  # exact erf form, as Keras's approximate=False
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU,
            "silu": nn.SiLU, "linear": nn.Identity}[name]()


def batch_norm(channels: int, epsilon: float = TORCH_BN_EPSILON) -> nn.BatchNorm2d:
    """Batch norm over `channels` with torch's momentum; the Keras twin is `keras_layers.batch_norm`."""
    return nn.BatchNorm2d(channels, eps=epsilon, momentum=TORCH_BN_MOMENTUM)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or frozen); buffers such as BN statistics excluded."""
    return sum(p.numel() for p in model.parameters())
