"""Residual networks (PyTorch). Mirrors `keras_net.py`: same helpers, in the same order.

Module names follow torchvision (`conv1`, `layer1.0.conv1`, `layer2.0.downsample.0`,
`fc`), so torchvision's ImageNet weights load into `resnet18/34/50` built with the preset
`paper` unchanged, and the Keras twin's layers carry the same names for weight transfer.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# the same spec names as keras_net.py imports (`duplicates` pairs the two lists)
from modules.resnet.spec import (
    BLOCK_EXPANSION,
    CIFAR_SMALL_INPUT,
    IMAGENET_SHORTCUT,
    RESNETS,
    ResNetSpec,
    check_resnet_input,
)
from modules.toolkit.torch_layers import batch_norm


def conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    """A bias-free convolution padded to keep ceil(side / stride), and its batch norm."""
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False)
    return conv, batch_norm(out_channels)


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by `stride` and append zero channels (no parameters)."""

    def __init__(self, stride: int, extra_channels: int) -> None:
        super().__init__()
        self.stride, self.extra_channels = stride, extra_channels

    def forward(self, x):  # (B, C, H, W) -> (B, C + extra, ceil(H/s), ceil(W/s))
        return F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, 0, self.extra_channels))


def make_shortcut(shortcut: str, in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """None where the shape is kept; else a 1x1 projection + BN (B) or a zero-padded identity (A)."""
    if stride == 1 and in_channels == out_channels:
        return None
    if shortcut == "identity":
        return ZeroPadShortcut(stride, out_channels - in_channels)
    return nn.Sequential(*conv_bn(in_channels, out_channels, 1, stride))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions; the first carries the stride."""

    def __init__(self, in_channels: int, width: int, stride: int, shortcut: str, residual_gamma: float) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv_bn(in_channels, width, 3, stride)
        self.conv2, self.bn2 = conv_bn(width, width, 3, 1)
        nn.init.constant_(self.bn2.weight, residual_gamma)  # the scale the residual branch starts at
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_shortcut(shortcut, in_channels, width, stride)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride: torchvision's v1.5), 1x1 expand by 4."""

    # BasicBlock's shape with a third convolution, as torchvision writes its two blocks: one class per
    # block keeps torchvision's module names (`conv3`, `bn3`), by which its weights load

    def __init__(self, in_channels: int, width: int, stride: int, shortcut: str, residual_gamma: float) -> None:
        super().__init__()
        out_channels = width * BLOCK_EXPANSION["bottleneck"]
        self.conv1, self.bn1 = conv_bn(in_channels, width, 1, 1)
        self.conv2, self.bn2 = conv_bn(width, width, 3, stride)
        self.conv3, self.bn3 = conv_bn(width, out_channels, 1, 1)
        nn.init.constant_(self.bn3.weight, residual_gamma)  # the scale the residual branch starts at
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

    def __init__(self, spec: ResNetSpec, input_shape: tuple, num_classes: int, small_input: bool, shortcut: str,
                 residual_gamma: float) -> None:
        super().__init__()
        in_channels = input_shape[0]
        if spec.imagenet_stem and not small_input:
            self.conv1, self.bn1 = conv_bn(in_channels, spec.stem_width, 7, 2)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        else:
            self.conv1, self.bn1 = conv_bn(in_channels, spec.stem_width, 3, 1)
            self.maxpool = nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        block = BLOCKS[spec.block]
        for i, ((c_in, width, c_out), n) in enumerate(zip(spec.stage_channels(), spec.blocks)):
            stage = [block(c_in if j == 0 else c_out, width, 2 if i > 0 and j == 0 else 1, shortcut,
                           residual_gamma) for j in range(n)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
        self.num_stages = len(spec.blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(spec.stage_channels()[-1][2], num_classes)
        for m in self.modules():  # torchvision's initialisation (the Keras twin uses the same)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):  # (B, C, H, W)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))  # (B, num_classes) logits


def create_resnet(name: str, input_shape: tuple, num_classes: int, small_input: bool, shortcut: str,
                  residual_gamma: float) -> ResNet:
    """The ResNet `RESNETS[name]`, after checking the image is large enough."""
    check_resnet_input(name, input_shape, small_input)
    return ResNet(RESNETS[name], input_shape, num_classes, small_input, shortcut, residual_gamma)


def resnet18(input_shape: tuple, num_classes: int, *, small_input: bool, residual_gamma: float) -> ResNet:
    """ResNet-18 (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return create_resnet("resnet18", input_shape, num_classes, small_input, IMAGENET_SHORTCUT, residual_gamma)


def resnet34(input_shape: tuple, num_classes: int, *, small_input: bool, residual_gamma: float) -> ResNet:
    """ResNet-34 (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return create_resnet("resnet34", input_shape, num_classes, small_input, IMAGENET_SHORTCUT, residual_gamma)


def resnet50(input_shape: tuple, num_classes: int, *, small_input: bool, residual_gamma: float) -> ResNet:
    """ResNet-50, bottleneck blocks (He et al. 2015, https://arxiv.org/abs/1512.03385)."""
    return create_resnet("resnet50", input_shape, num_classes, small_input, IMAGENET_SHORTCUT, residual_gamma)


def resnet20(input_shape: tuple, num_classes: int, *, shortcut: str, residual_gamma: float) -> ResNet:
    """ResNet-20 for CIFAR, 6n+2 with n=3 (He et al. 2015 sec. 4.2, https://arxiv.org/abs/1512.03385)."""
    return create_resnet("resnet20", input_shape, num_classes, CIFAR_SMALL_INPUT, shortcut, residual_gamma)


def resnet56(input_shape: tuple, num_classes: int, *, shortcut: str, residual_gamma: float) -> ResNet:
    """ResNet-56 for CIFAR, 6n+2 with n=9 (He et al. 2015 sec. 4.2, https://arxiv.org/abs/1512.03385)."""
    return create_resnet("resnet56", input_shape, num_classes, CIFAR_SMALL_INPUT, shortcut, residual_gamma)
