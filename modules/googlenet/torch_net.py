"""GoogLeNet (PyTorch). Mirrors `keras_net.py`; both build the plans of `spec.py`."""
from __future__ import annotations

import torch
from torch import nn

# the same spec names as keras_net.py imports (`duplicates` pairs the two lists)
from modules.googlenet.spec import (
    AUX_AFTER,
    AUX_CHANNELS,
    AUX_DROPOUT,
    AUX_HIDDEN,
    AUX_LOSS_WEIGHT,
    AUX_POOL,
    INCEPTIONS,
    MAX_POOL,
    STEM_CHANNELS,
    aux_conv_layers,
    aux_side,
    branch_layers,
    check_googlenet_input,
    inception_out,
    inception_spec,
    is_pool,
    stem_layers,
)
from modules.toolkit.plans import scaled
from modules.toolkit.torch_plans import build_plan


class Inception(nn.Module):
    """Four parallel branches, concatenated: 1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3 max pool then 1x1."""

    def __init__(self, in_channels: int, branches: list[list[tuple]]) -> None:
        super().__init__()
        self.branch1, self.branch2, self.branch3, self.branch4 = (build_plan(b, in_channels) for b in branches)

    def forward(self, x):  # (B, C, H, W) -> (B, c1 + c3 + c5 + pool_proj, H, W)
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class AuxClassifier(nn.Module):
    """Section 5: 5x5/3 average pooling, 1x1 conv 128, fully connected 1024, dropout 0.7, linear."""

    def __init__(self, in_channels: int, side: int, num_classes: int, width: float, batch_norm: bool) -> None:
        super().__init__()
        channels, hidden = scaled(AUX_CHANNELS, width), scaled(AUX_HIDDEN, width)
        self.pool = nn.AvgPool2d(AUX_POOL[0], stride=AUX_POOL[1])
        self.conv = build_plan(aux_conv_layers(width, batch_norm), in_channels)  # 1x1 conv [BN] ReLU
        self.fc1 = nn.Linear(channels * side * side, hidden)
        self.dropout = nn.Dropout(AUX_DROPOUT)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x):  # (B, C, H, W)
        x = self.conv(self.pool(x)).flatten(1)  # (B, channels * side * side)
        return self.fc2(self.dropout(torch.relu(self.fc1(x))))  # (B, num_classes)


class TorchvisionNames:
    """A load_state_dict pre-hook: renames torchvision's GoogLeNet keys to this network's, so
    `load_state_dict(torchvision_model.state_dict(), strict=True)` works (preset `torchvision`).

    torchvision wraps each convolution with its batch norm in a `BasicConv2d` (`conv1.conv`,
    `conv1.bn`, `inception3a.branch2.1.conv`, `aux1.conv.bn`); here they are consecutive
    entries of a layer plan (`stem.0`, `stem.1`, `inception3a.branch2.3`, `aux1.conv.1`).
    A torchvision index counts a BasicConv2d or a pooling as one element.
    """

    def __init__(self, stem_plan: list[tuple]) -> None:
        self.stem_convs = [i for i, (kind, *_) in enumerate(stem_plan) if kind == "conv"]

    def __call__(self, module, state_dict, prefix, *_) -> None:
        if prefix + "conv1.conv.weight" not in state_dict:
            return  # not a torchvision state dict
        for key in [k for k in state_dict if k.startswith(prefix)]:
            state_dict[prefix + self.rename(key[len(prefix):])] = state_dict.pop(key)

    def own_names(self, state_dict: dict) -> dict:
        """A copy of `state_dict` under this network's names (unchanged if not torchvision's)."""
        if "conv1.conv.weight" not in state_dict:
            return dict(state_dict)
        return {self.rename(k): v for k, v in state_dict.items()}

    def rename(self, key: str) -> str:
        """This network's name for torchvision's `key`."""
        parts = key.split(".")
        offset = {"conv": 0, "bn": 1}
        if parts[0] in ("conv1", "conv2", "conv3"):  # the stem's three BasicConv2d
            index = self.stem_convs[int(parts[0][-1]) - 1] + offset[parts[1]]
            return ".".join(["stem", str(index), *parts[2:]])
        if parts[0].startswith("inception") and parts[1].startswith("branch"):
            element = int(parts[2]) if parts[2].isdigit() else 0  # branch1 is a bare BasicConv2d
            rest = parts[3:] if parts[2].isdigit() else parts[2:]
            # each element before this one (a BasicConv2d or a pooling) took 3 or 1 plan entries
            start = 3 * element if parts[1] != "branch4" else 1 + 3 * (element - 1)
            return ".".join([*parts[:2], str(start + offset[rest[0]]), *rest[1:]])
        if parts[0].startswith("aux") and parts[1] == "conv":
            return ".".join([*parts[:2], str(offset[parts[2]]), *parts[3:]])
        return key  # fc, aux*.fc1, aux*.fc2: the same names


class GoogLeNet(nn.Module):
    """Stem, nine inception modules between max poolings, global average pooling, dropout, linear.

    In training mode with auxiliary classifiers it returns (main, aux1, aux2) logits,
    otherwise the main logits alone; the task weighs the auxiliary losses by
    `aux_loss_weight`.
    """

    aux_loss_weight = AUX_LOSS_WEIGHT

    def __init__(self, input_shape: tuple, num_classes: int, width: float, dropout: float,
                 aux_logits: bool, lrn: bool, batch_norm: bool, small_input: bool,
                 branch3_kernel: int) -> None:
        super().__init__()
        check_googlenet_input(input_shape, small_input, aux_logits)
        in_channels, height, _ = input_shape
        self.stem = build_plan(stem_layers(width, lrn, small_input, batch_norm), in_channels)
        channels = scaled(STEM_CHANNELS[-1], width)
        self.order = []
        for spec in INCEPTIONS:
            if is_pool(spec):
                self.add_module(spec, build_plan([MAX_POOL], channels))
            else:
                self.add_module(spec[0], Inception(channels, branch_layers(spec, width, batch_norm, branch3_kernel)))
                channels = inception_out(spec, width)
            self.order.append(spec if is_pool(spec) else spec[0])
        # auxiliary classifiers `aux1`, `aux2` on the outputs of inception 4a and 4d (same side)
        self.aux_after = {after: f"aux{i}" for i, after in enumerate(AUX_AFTER, 1)} if aux_logits else {}
        for after, aux_name in self.aux_after.items():
            self.add_module(aux_name, AuxClassifier(inception_out(inception_spec(after), width),
                                                    aux_side(height, small_input), num_classes, width,
                                                    batch_norm))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)
        self.torchvision_names = TorchvisionNames(stem_layers(width, lrn, small_input, batch_norm))
        self.register_load_state_dict_pre_hook(self.torchvision_names)

    def own_names(self, state_dict: dict) -> dict:
        """`state_dict` under this network's names (torchvision's renamed; see `TorchvisionNames`)."""
        return self.torchvision_names.own_names(state_dict)

    def forward(self, x):  # (B, C, H, W)
        aux_logits = []
        x = self.stem(x)
        for name in self.order:
            x = getattr(self, name)(x)
            if self.training and name in self.aux_after:
                aux_logits.append(getattr(self, self.aux_after[name])(x))
        logits = self.fc(self.dropout(x.mean(dim=(2, 3))))  # global average pooling -> (B, num_classes)
        return (logits, *aux_logits) if aux_logits else logits


def googlenet(input_shape: tuple, num_classes: int, *, width: float, dropout: float, aux_logits: bool, lrn: bool,
              batch_norm: bool, small_input: bool, branch3_kernel: int) -> GoogLeNet:
    """GoogLeNet (Szegedy et al. 2014, https://arxiv.org/abs/1409.4842)."""
    return GoogLeNet(input_shape, num_classes, width, dropout, aux_logits, lrn, batch_norm, small_input,
                     branch3_kernel)
