"""Apply a framework-free layer plan to a Keras tensor (see `modules.toolkit.plans`).

Mirrors `modules/toolkit/torch_plans.py`: entry i of a plan under `prefix` becomes the
layer `<prefix>.<i>`, the name of the torch module it mirrors (why a position may give a
name here is said in `modules.toolkit.plans`).
"""
from __future__ import annotations

from keras import layers

from modules.toolkit.keras_layers import activation as make_activation, batch_norm, conv2d, torch_dense
from modules.toolkit.keras_local_response_norm import LocalResponseNorm


def max_pool2d(x, kernel: int, stride: int, padding: int = 0, ceil_mode: bool = False, *, name: str):
    """torch's MaxPool2d on an NHWC tensor, for the settings Keras can express exactly.

    Both frameworks ignore padding in max pooling (torch pads with -inf, Keras's "same"
    skips it). Padding kernel // 2 at stride 1 is Keras's "same". Ceil mode adds a last
    window running past the bottom/right edge: Keras's "same" when it pads nothing
    before and gives torch's number of windows.
    """
    sides = x.shape[1:3]
    if stride == 1 and padding == kernel // 2 and kernel % 2 == 1:
        return layers.MaxPooling2D(kernel, strides=1, padding="same", name=name)(x)
    if padding == 0 and (not ceil_mode or all((s - kernel) % stride == 0 for s in sides)):
        return layers.MaxPooling2D(kernel, strides=stride, name=name)(x)

    def same_is_torch_ceil(side: int) -> bool:
        windows = -(-(side - kernel) // stride) + 1  # torch, ceil mode
        same_windows = -(-side // stride)
        return same_windows == windows and ((windows - 1) * stride + kernel - side) // 2 == 0

    if padding == 0 and ceil_mode and all(same_is_torch_ceil(s) for s in sides):
        return layers.MaxPooling2D(kernel, strides=stride, padding="same", name=name)(x)
    raise ValueError(f"max pooling {kernel}/{stride} (padding {padding}, ceil mode {ceil_mode}) on "
                     f"{tuple(sides)} has no exact Keras equivalent here")


def flatten_channels_first(x, name: str = "flatten"):
    """Flatten an NHWC tensor in torch's (C, H, W) order, so the next Dense takes a torch Linear's
    weights as they are."""
    x = layers.Permute((3, 1, 2), name=f"{name}.permute")(x)
    return layers.Flatten(name=name)(x)


def apply_plan(x, plan: list[tuple], prefix: str, activation: str = "relu"):
    """`x` through the layers of `plan`, named like torch's `<prefix>.<index>`; each
    ("activation",) entry is the network's hidden activation, `activation`."""
    for index, (kind, *args) in enumerate(plan):
        name = f"{prefix}.{index}"
        if kind == "conv":
            x = conv2d(x, *args, name=name)
        elif kind == "bn":
            x = batch_norm(name, *args)(x)
        elif kind == "activation":
            x = layers.ReLU(name=name)(x) if activation == "relu" else make_activation(activation, name)(x)
        elif kind == "lrn":
            x = LocalResponseNorm(**args[0], name=name)(x)
        elif kind == "maxpool":
            x = max_pool2d(x, *args, name=name)
        elif kind == "avgpool":
            x = layers.AveragePooling2D(args[0], strides=args[1], name=name)(x)
        elif kind == "dropout":
            x = layers.Dropout(args[0], name=name)(x)
        elif kind == "flatten":
            x = flatten_channels_first(x, name)
        elif kind == "linear":
            x = torch_dense(args[0], x.shape[-1], name=name)(x)
        else:
            raise ValueError(f"unknown plan entry {kind!r}")
    return x
