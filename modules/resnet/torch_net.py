"""Residual networks (PyTorch). Mirrors `modules/keras/resnet.py`.

Module names follow torchvision (`conv1`, `layer1.0.conv1`, `layer2.0.downsample.0`,
`fc`), so torchvision's ImageNet weights load into `resnet18/34/50(small_input=False)`
unchanged, and the Keras twin's layers carry the same names for weight transfer.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from modules.catalog.resnet import BLOCK_EXPANSION, RESNETS, ResNetSpec, check_resnet_input


def conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    """A bias-free convolution padded to keep ceil(side / stride), and its batch norm."""
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False)
    return conv, nn.BatchNorm2d(out_channels)  # eps 1e-5, momentum 0.1 (Keras: 1e-5, 0.9)


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by `stride` and append zero channels (no parameters)."""

    def __init__(self, stride: int, extra_channels: int) -> None:
        super().__init__()
        self.stride, self.extra_channels = stride, extra_channels

    def forward(self, x):  # (B, C, H, W) -> (B, C + extra, ceil(H/s), ceil(W/s))
        return F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, 0, self.extra_channels))


def make_shortcut(kind: str, in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """None where the shape is kept; else a 1x1 projection + BN (B) or a zero-padded identity (A)."""
    if stride == 1 and in_channels == out_channels:
        return None
    if kind == "identity":
        return ZeroPadShortcut(stride, out_channels - in_channels)
    return nn.Sequential(*conv_bn(in_channels, out_channels, 1, stride))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions; the first carries the stride."""

    def __init__(self, in_channels: int, width: int, stride: int, shortcut: str) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv_bn(in_channels, width, 3, stride)
        self.conv2, self.bn2 = conv_bn(width, width, 3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_shortcut(shortcut, in_channels, width, stride)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride: torchvision's v1.5), 1x1 expand by 4."""

    def __init__(self, in_channels: int, width: int, stride: int, shortcut: str) -> None:
        super().__init__()
        out_channels = width * BLOCK_EXPANSION["bottleneck"]
        self.conv1, self.bn1 = conv_bn(in_channels, width, 1)
        self.conv2, self.bn2 = conv_bn(width, width, 3, stride)
        self.conv3, self.bn3 = conv_bn(width, out_channels, 1)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_shortcut(shortcut, in_channels, out_channels, stride)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """Stem, stages of residual blocks (`layer1`...), global average pool, `fc`."""

    def __init__(self, spec: ResNetSpec, input_shape: tuple, num_classes: int,
                 small_input: bool = True, shortcut: str = "projection",
                 residual_gamma: float = 1.0) -> None:
        super().__init__()
        in_channels = input_shape[0]
        if spec.imagenet_stem and not small_input:
            self.conv1, self.bn1 = conv_bn(in_channels, spec.stem_width, 7, stride=2)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        else:
            self.conv1, self.bn1 = conv_bn(in_channels, spec.stem_width, 3)
            self.maxpool = nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        block = BLOCKS[spec.block]
        for i, ((c_in, width, _), n) in enumerate(zip(spec.stage_channels(), spec.blocks)):
            stride = 1 if i == 0 else 2
            stage = [block(c_in, width, stride, shortcut)]
            stage += [block(width * BLOCK_EXPANSION[spec.block], width, 1, shortcut) for _ in range(n - 1)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
        self.num_stages = len(spec.blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(spec.stage_channels()[-1][2], num_classes)
        for m in self.modules():  # torchvision's initialisation (the Keras twin uses the same)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for m in self.modules():  # the scale each residual branch starts at (see catalog)
            if isinstance(m, (BasicBlock, Bottleneck)):
                nn.init.constant_((m.bn3 if isinstance(m, Bottleneck) else m.bn2).weight, residual_gamma)

    def forward(self, x):  # (B, C, H, W)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))  # (B, num_classes) logits


def _create_resnet(name: str, input_shape: tuple, num_classes: int, **kwargs) -> ResNet:
    check_resnet_input(name, input_shape, kwargs.get("small_input", True))
    return ResNet(RESNETS[name], input_shape, num_classes, **kwargs)


def resnet18(input_shape: tuple, num_classes: int = 10, small_input: bool = True,
             residual_gamma: float = 1.0) -> ResNet:
    """ResNet-18 (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return _create_resnet("resnet18", input_shape, num_classes, small_input=small_input,
                          residual_gamma=residual_gamma)


def resnet34(input_shape: tuple, num_classes: int = 10, small_input: bool = True,
             residual_gamma: float = 1.0) -> ResNet:
    """ResNet-34 (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return _create_resnet("resnet34", input_shape, num_classes, small_input=small_input,
                          residual_gamma=residual_gamma)


def resnet50(input_shape: tuple, num_classes: int = 10, small_input: bool = True,
             residual_gamma: float = 1.0) -> ResNet:
    """ResNet-50, bottleneck blocks (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return _create_resnet("resnet50", input_shape, num_classes, small_input=small_input,
                          residual_gamma=residual_gamma)


def resnet20(input_shape: tuple, num_classes: int = 10, shortcut: str = "identity",
             residual_gamma: float = 0.1) -> ResNet:
    """ResNet-20 for CIFAR, 6n+2 with n=3 (He et al. 2015 sec. 4.2, https://arxiv.org/abs/1512.03385)."""
    return _create_resnet("resnet20", input_shape, num_classes, shortcut=shortcut,
                          residual_gamma=residual_gamma)


def resnet56(input_shape: tuple, num_classes: int = 10, shortcut: str = "identity",
             residual_gamma: float = 0.1) -> ResNet:
    """ResNet-56 for CIFAR, 6n+2 with n=9 (He et al. 2015 sec. 4.2, https://arxiv.org/abs/1512.03385)."""
    return _create_resnet("resnet56", input_shape, num_classes, shortcut=shortcut,
                          residual_gamma=residual_gamma)
