"""Build an `nn.Sequential` from a framework-free layer plan (see `modules.toolkit.plans`).
Mirrors `modules/toolkit/keras_plans.py`."""
from __future__ import annotations

from torch import nn

from modules.toolkit.torch_layers import activation as make_activation, batch_norm


def build_plan(plan: list[tuple], in_channels: int, in_features: int | None = None,
               activation: str = "relu") -> nn.Sequential:
    """The layers of `plan`; `in_channels` feeds the first convolution, `in_features`
    the first linear layer when no flatten precedes it (a flatten sets it itself).
    Each ("activation",) entry is the network's hidden activation, `activation`."""
    layers: list[nn.Module] = []
    channels, features = in_channels, in_features
    for kind, *args in plan:
        if kind == "conv":
            out, kernel, stride, padding, bias = (*args, True)[:5]
            layers.append(nn.Conv2d(channels, out, kernel, stride=stride, padding=padding, bias=bias))
            channels = out
        elif kind == "bn":
            layers.append(batch_norm(channels, *args))
        elif kind == "activation":
            layers.append(nn.ReLU(inplace=True) if activation == "relu" else make_activation(activation))
        elif kind == "lrn":
            layers.append(nn.LocalResponseNorm(**args[0]))
        elif kind == "maxpool":
            kernel, stride, padding, ceil_mode = (*args, *(0, False)[len(args) - 2:])  # defaults: 0, floor
            layers.append(nn.MaxPool2d(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode))
        elif kind == "avgpool":
            layers.append(nn.AvgPool2d(args[0], stride=args[1]))
        elif kind == "dropout":
            layers.append(nn.Dropout(args[0]))
        elif kind == "flatten":
            layers.append(nn.Flatten())
        elif kind == "linear":
            layers.append(nn.Linear(features, args[0]))
            features = args[0]
        else:
            raise ValueError(f"unknown plan entry {kind!r}")
    return nn.Sequential(*layers)
