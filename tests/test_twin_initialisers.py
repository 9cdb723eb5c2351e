"""The classic CNN twins start from one distribution: every Keras convolution and dense layer of
LeNet-5, AlexNet, VGG and GoogLeNet draws its kernel and bias as torch's defaults do
(kaiming_uniform(a=sqrt(5)): U(+-1/sqrt(fan_in)) for both), not Keras's Glorot-uniform kernel and
zero bias. Drawn separately, the weights differ; their spreads must not (a Glorot conv kernel of a
3x3, C -> C layer is sqrt(3) times wider than torch's, which changes how the first epochs learn)."""
from __future__ import annotations

import numpy as np
import pytest

from modules import backend, registry

CASES = [  # (arch, input shape (C, H, W), hyperparameters)
    ("lenet5", (1, 28, 28), {}),
    ("alexnet", (1, 28, 28), {}),
    ("vgg11", (1, 32, 32), {"width": 0.5}),
    ("googlenet", (1, 28, 28), {}),
]
MIN_SIZE = 200  # spreads of smaller tensors are too noisy to compare at 20%


def torch_layers(model) -> dict:
    """Name -> (weight, bias) of every Conv2d and Linear, as NumPy arrays."""
    torch = backend.torch()
    return {name: (m.weight.detach().numpy(), m.bias.detach().numpy() if m.bias is not None else None)
            for name, m in model.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))}


def keras_layers(model) -> dict:
    """Name -> (kernel, bias) of every Conv2D and Dense, as NumPy arrays."""
    keras = backend.keras()
    return {layer.name: (layer.kernel.numpy(), layer.bias.numpy() if layer.use_bias else None)
            for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))}


@pytest.mark.parametrize(("arch", "shape", "hparams"), CASES, ids=[case[0] for case in CASES])
def test_keras_twin_draws_every_kernel_and_bias_from_torchs_default_distribution(arch, shape, hparams):
    torch_net = torch_layers(registry.create(arch, "torch", shape, 10, **hparams))
    keras_net = keras_layers(registry.create(arch, "keras", shape, 10, **hparams))
    assert sorted(keras_net) == sorted(torch_net)  # the same layers, by torch's names
    compared = 0
    for name, (weight, bias) in torch_net.items():
        kernel, keras_bias = keras_net[name]
        assert kernel.size == weight.size, name
        fan_in = weight[0].size  # in_channels x kernel^2, or in_features
        bound = fan_in ** -0.5
        assert np.abs(kernel).max() <= bound * (1 + 1e-6), name
        if bias is not None:
            assert np.abs(keras_bias).max() <= bound * (1 + 1e-6), name
            assert np.abs(keras_bias).max() > 0.5 * bound or keras_bias.size < 4, name  # not zeros
        if weight.size >= MIN_SIZE:
            assert kernel.std() == pytest.approx(weight.std(), rel=0.2), name
            compared += 1
    assert compared >= 4
