"""Activation names shared by both frameworks (each maps them to its own ops)."""
from modules.errors import UserError

BASIC_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
ACTIVATIONS = BASIC_ACTIVATIONS + ("gelu", "elu", "silu", "linear")
LEAKY_RELU_SLOPE = 0.01  # torch's default; Keras's default is 0.3, so both sides pass it


def check_activation(name: str) -> str:
    """Return `name` if it is a known activation, else raise listing the valid ones."""
    if name not in ACTIVATIONS:
        raise UserError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return name
