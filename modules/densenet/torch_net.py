"""Densely connected networks (PyTorch). Mirrors `keras_net.py`: same helpers, in the same order.

Module names follow torchvision (`features.conv0`, `features.denseblock1.denselayer1.conv1`,
`features.transition1.conv`, `features.norm5`, `classifier`), so torchvision's
`densenet121` weights load into `densenet121` built with the preset `paper` unchanged.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from modules.densenet.spec import BOTTLENECK_FACTOR, CIFAR_SMALL_INPUT, DENSENETS, DenseNetSpec, check_densenet_input
from modules.toolkit.torch_layers import batch_norm


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (4k channels), BN-ReLU-3x3 conv (k channels); its input is kept beside it."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        inner = BOTTLENECK_FACTOR * growth_rate
        self.norm1 = batch_norm(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, inner, 1, bias=False)
        self.norm2 = batch_norm(inner)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(inner, growth_rate, 3, padding=1, bias=False)

    def forward(self, x):  # (B, C, H, W) -> (B, k, H, W): the new features only
        out = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(out)))


class DenseBlock(nn.ModuleDict):
    """`layers` dense layers, each fed the concatenation of the block input and all earlier outputs."""

    def __init__(self, layers: int, in_channels: int, growth_rate: int) -> None:
        super().__init__({f"denselayer{i + 1}": DenseLayer(in_channels + i * growth_rate, growth_rate)
                          for i in range(layers)})

    def forward(self, x):  # (B, C, H, W) -> (B, C + layers * k, H, W)
        features = [x]
        for layer in self.values():
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """BN-ReLU-1x1 conv to the compressed width, then a 2x2 average pool."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm = batch_norm(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.pool = nn.AvgPool2d(2, stride=2)


class DenseNet(nn.Module):
    """`features` (stem, dense blocks and transitions, final BN), ReLU, global pool, `classifier`."""

    def __init__(self, spec: DenseNetSpec, input_shape: tuple, num_classes: int, small_input: bool) -> None:
        super().__init__()
        in_channels = input_shape[0]
        if spec.imagenet_stem and not small_input:
            stem = [("conv0", nn.Conv2d(in_channels, spec.stem_width, 7, stride=2, padding=3, bias=False)),
                    ("norm0", batch_norm(spec.stem_width)), ("relu0", nn.ReLU(inplace=True)),
                    ("pool0", nn.MaxPool2d(3, stride=2, padding=1))]
        else:
            stem = [("conv0", nn.Conv2d(in_channels, spec.stem_width, 3, padding=1, bias=False)),
                    ("norm0", batch_norm(spec.stem_width)), ("relu0", nn.ReLU(inplace=True))]
        self.features = nn.Sequential()
        for name, module in stem:
            self.features.add_module(name, module)
        for i, ((c_in, c_out), layers) in enumerate(zip(spec.block_channels(), spec.blocks)):
            self.features.add_module(f"denseblock{i + 1}", DenseBlock(layers, c_in, spec.growth_rate))
            if i < len(spec.blocks) - 1:
                self.features.add_module(f"transition{i + 1}",
                                         Transition(c_in + layers * spec.growth_rate, c_out))
        width = spec.block_channels()[-1][1]
        self.features.add_module("norm5", batch_norm(width))
        self.classifier = nn.Linear(width, num_classes)
        for m in self.modules():  # torchvision's initialisation (the Keras twin uses the same)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)  # fan_in
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x):  # (B, C, H, W)
        x = F.relu(self.features(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))  # (B, num_classes) logits


def create_densenet(name: str, input_shape: tuple, num_classes: int, small_input: bool) -> DenseNet:
    """The DenseNet `DENSENETS[name]`, after checking the image is large enough."""
    check_densenet_input(name, input_shape, small_input)
    return DenseNet(DENSENETS[name], input_shape, num_classes, small_input)


def densenet121(input_shape: tuple, num_classes: int, *, small_input: bool) -> DenseNet:
    """DenseNet-121, k=32 (Huang et al. 2017, https://arxiv.org/abs/1608.06993)."""
    return create_densenet("densenet121", input_shape, num_classes, small_input)


def densenet_bc40(input_shape: tuple, num_classes: int) -> DenseNet:
    """DenseNet-BC for small images, depth 40, k=12 (Huang et al. 2017, https://arxiv.org/abs/1608.06993)."""
    return create_densenet("densenet_bc40", input_shape, num_classes, CIFAR_SMALL_INPUT)
