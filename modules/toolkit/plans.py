"""Framework-free pieces the convolutional twins share: layer plans, width scaling, the
input-size check, and torch's batch-norm constants both frameworks are held to.

A plan is a list of tuples, one per layer, in the order of a torch
`nn.Sequential`; `modules/toolkit/torch_plans.py` and `modules/toolkit/keras_plans.py`
turn it into layers. The Keras layer of entry i is named `<prefix>.<i>`: the one place
a Keras name comes from a position, allowed because both sides read that position from
this same framework-free plan and `<prefix>.<i>` is the torch module's own name
(`features.3`, as torchvision names it), which state dicts and weight transfer go by.
Entries:

    ("conv", out_channels, kernel, stride, padding[, bias])   2-D convolution, with bias by default
    ("bn"[, eps])                                       batch norm (eps TORCH_BN_EPSILON by default)
    ("activation",)                                     the network's hidden activation (ReLU unless set)
    ("lrn", {"size", "alpha", "beta", "k"})             local response norm, torch's formula
    ("maxpool", kernel, stride[, padding[, ceil_mode]])  padding 0 and floor mode by default
    ("avgpool", kernel, stride)                          no padding, floor mode
    ("dropout", rate)
    ("flatten",)                                         in torch's (C, H, W) order
    ("linear", out_features)
"""
from __future__ import annotations

from modules.errors import UserError

# torch's batch-norm defaults, which both frameworks use. torch updates running statistics as
# running = (1 - m) * running + m * batch; Keras's `momentum` weighs the old value instead, so a
# Keras layer gets momentum 1 - TORCH_BN_MOMENTUM (see `keras_layers.batch_norm`).
TORCH_BN_EPSILON = 1e-5  # Keras's own default is 1e-3
TORCH_BN_MOMENTUM = 0.1


def scaled(channels: int, width: float) -> int:
    """`channels` times the width multiplier, at least 1."""
    return max(1, round(channels * width))


def classifier_layers(classifier_width: int, dropout: float, num_classes: int,
                      dropout_first: bool = False) -> list[tuple]:
    """AlexNet's and VGG's classifier on the flattened features: (linear, activation, dropout) twice,
    then the output layer; `dropout_first` puts each dropout before its linear layer (torchvision's
    AlexNet). No flatten inside: the networks flatten between `features` and `classifier`, as
    torchvision does, so the indices are torchvision's (`classifier.0/3/6` for VGG, `1/4/6` for
    AlexNet) and its state dicts load by name."""
    if dropout_first:
        hidden = [("dropout", dropout), ("linear", classifier_width), ("activation",)]
    else:
        hidden = [("linear", classifier_width), ("activation",), ("dropout", dropout)]
    return [*hidden, *hidden, ("linear", num_classes)]


def check_input_size(name: str, input_shape: tuple, minimum: int, setting: str = "") -> None:
    """Raise UserError in one line when an image side is below `minimum`; `setting` names the
    hyperparameters that set the minimum (" with small_input=false")."""
    side = min(input_shape[-2:])
    if side < minimum:
        raise UserError(f"{name}{setting} needs images of at least {minimum}x{minimum}, got "
                        f"{input_shape[-2]}x{input_shape[-1]}: pass --image-size {minimum} (or larger)")
