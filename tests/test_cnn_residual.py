"""ResNets and DenseNets: faithful to their papers and torchvision, one network in both frameworks.

The registry-wide tests (test_models.py) already compare parameter counts and
outputs after weight transfer at the default settings; these add what they
cannot see: torchvision's exact counts at ImageNet shape, batch-norm statistics
that are not the trivial 0/1 (so a swapped mean/variance would show), the
non-default settings (ImageNet stem, projection shortcuts), one training step
per framework, and (slow) training to target accuracy.
"""
from __future__ import annotations

import numpy as np
import pytest

from modules import backend, registry
from modules.convert import outputs_channels_first, random_inputs, transfer
from modules.errors import UserError

RESIDUAL_ARCHS = [a.name for a in registry.all_architectures() if a.module in ("resnet", "densenet")]
IMAGENET_ARCHS = ["resnet18", "resnet34", "resnet50", "densenet121"]


def randomize_batch_norm(model, seed: int = 0) -> None:
    """Give every BN layer random affine weights and running statistics (mean != var)."""
    # test_cnn_classic.py's helper but for the gamma range below: kept in each file so each reads alone
    torch = backend.torch()
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            # gamma below 1 keeps a 56-layer net's eval-mode outputs near 1 (float32 stays precise)
            module.weight.data = 0.1 + 0.4 * torch.rand(n, generator=generator)
            module.bias.data = 0.2 * torch.randn(n, generator=generator)
            module.running_mean.data = 0.3 * torch.randn(n, generator=generator)
            module.running_var.data = 0.5 + 1.5 * torch.rand(n, generator=generator)


def transferred_difference(name: str, input_shape: tuple, num_classes: int = 10, **hparams) -> float:
    """Max |torch - keras| on one random batch after random BN statistics and weight transfer."""
    torch = backend.torch()
    torch.manual_seed(0)
    arch = registry.get(name)
    torch_model = arch.build("torch", input_shape, num_classes, **hparams).eval()
    randomize_batch_norm(torch_model)
    keras_model = arch.build("keras", input_shape, num_classes, **hparams)
    transfer(torch_model, keras_model)
    x_torch, x_keras = random_inputs(input_shape, 2, seed=1)
    with torch.inference_mode():
        y_torch = torch_model(torch.from_numpy(x_torch)).numpy()
    y_keras = outputs_channels_first(np.asarray(keras_model(x_keras, training=False)))
    assert np.abs(y_torch).max() > 1e-2  # outputs that are not all ~0, so the comparison means something
    return float(np.abs(y_torch - y_keras).max())


# (name, input shape, hyperparameters): the architectures at their default small-image
# setting, plus the ImageNet stem and the projection shortcuts (option B). The two
# largest appear once, with the ImageNet stem (their blocks are the same code either way).
PARITY_CASES = [(name, (1, 16, 16), {}) for name in RESIDUAL_ARCHS
                if name not in ("resnet50", "densenet121")] + [
    ("resnet18", (3, 40, 40), {"small_input": False}),
    ("resnet50", (3, 33, 33), {"small_input": False}),  # odd side: every padding must agree
    ("densenet121", (3, 40, 40), {"small_input": False}),
    ("resnet20", (3, 15, 15), {"shortcut": "projection", "residual_gamma": 1.0}),
]


@pytest.mark.parametrize("name,input_shape,hparams", PARITY_CASES,
                         ids=[f"{n}-{'x'.join(map(str, s))}-{','.join(f'{k}={v}' for k, v in h.items())}"
                              for n, s, h in PARITY_CASES])
def test_outputs_match_after_transfer_with_random_batch_norm_statistics(name, input_shape, hparams):
    assert transferred_difference(name, input_shape, **hparams) <= 1e-4


def test_a_batch_norm_converter_that_swaps_mean_and_variance_is_caught(monkeypatch):
    # the control for the test above: with a broken converter, the outputs disagree
    torch = backend.torch()
    from modules import convert

    convert._load_converters()
    honest = convert._CONVERTERS[torch.nn.BatchNorm2d]

    def swapped(module, layer):
        gamma, beta, mean, var = honest(module, layer)
        return [gamma, beta, var, mean]

    monkeypatch.setitem(convert._CONVERTERS, torch.nn.BatchNorm2d, swapped)
    # NaN counts as disagreement too: a negative mean read as a variance has no square root
    assert not transferred_difference("resnet20", (1, 16, 16)) <= 1e-2


@pytest.mark.parametrize("name", IMAGENET_ARCHS)
def test_imagenet_configuration_is_torchvisions_network(name):
    torch = backend.torch()
    import torchvision

    from modules.toolkit.keras_layers import count_parameters as count_keras
    from modules.toolkit.torch_layers import count_parameters as count_torch

    arch = registry.get(name)
    ours = arch.build("torch", (3, 224, 224), 1000, preset="paper")
    reference = getattr(torchvision.models, name)(weights=None)
    expected = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
                "densenet121": 7_978_856}[name]
    assert count_torch(reference) == count_torch(ours) == expected
    assert count_keras(arch.build("keras", (3, 224, 224), 1000, preset="paper")) == expected
    # same module names and shapes: torchvision's weights load as they are, and compute the same
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(ours.eval()(x), reference.eval()(x))


def test_cifar_resnets_and_densenet_bc_have_the_papers_sizes():
    from modules.densenet.spec import DenseNetSpec
    from modules.densenet.torch_net import DenseNet
    from modules.resnet.spec import RESNETS
    from modules.toolkit.torch_layers import count_parameters

    # He et al. table 6: ResNet-20 0.27M, ResNet-56 0.85M (option A: shortcuts add nothing)
    assert count_parameters(registry.get("resnet20").build("torch", (3, 32, 32), 10)) == 269_722
    assert count_parameters(registry.get("resnet56").build("torch", (3, 32, 32), 10)) == 853_018
    assert (RESNETS["resnet20"].depth, RESNETS["resnet56"].depth) == (20, 56)
    # Huang et al. table 2: DenseNet-BC (L=100, k=12) has 0.8M; the same table row builds it
    bc100 = DenseNet(DenseNetSpec(growth_rate=12, blocks=(16, 16, 16), stem_width=24, imagenet_stem=False),
                     (3, 32, 32), 10, small_input=True)
    assert 0.75e6 < count_parameters(bc100) < 0.85e6
    projection = registry.get("resnet20").build("torch", (3, 32, 32), 10, shortcut="projection")
    assert count_parameters(projection) > 269_722  # option B adds the 1x1 convolutions


@pytest.mark.parametrize("name", RESIDUAL_ARCHS)
def test_one_training_step_gives_finite_gradients_to_every_weight_in_both_frameworks(name):
    torch = backend.torch()
    tf = backend.tensorflow()
    arch = registry.get(name)
    side = arch.min_input_size
    x_torch, x_keras = random_inputs((1, side, side), 4, seed=0)
    y = np.array([0, 1, 2, 3])

    network = arch.build("torch", (1, side, side), 4).train()
    loss = torch.nn.functional.cross_entropy(network(torch.from_numpy(x_torch)), torch.from_numpy(y))
    loss.backward()
    assert np.isfinite(loss.item())
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in network.parameters())

    model = arch.build("keras", (1, side, side), 4)
    with tf.GradientTape() as tape:
        logits = model(x_keras, training=True)
        keras_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    grads = tape.gradient(keras_loss, model.trainable_weights)
    assert np.isfinite(float(keras_loss))
    assert all(g is not None and np.isfinite(np.asarray(g)).all() for g in grads)
    assert len(grads) == len(list(network.parameters()))


def test_an_image_too_small_names_the_minimum_and_image_size():
    from experiments.config import TrainConfig

    with pytest.raises(UserError, match=r"resnet18 needs images of at least 8x8.*--image-size 8"):
        TrainConfig(arch="resnet18", data="digits", image_size=4).validate()
    with pytest.raises(UserError, match=r"small_input=false needs images of at least 32x32.*--image-size 32"):
        registry.get("densenet121").build("torch", (1, 16, 16), 10, small_input=False)
    with pytest.raises(UserError, match=r"at least 32x32.*--image-size 32"):
        registry.get("resnet50").build("keras", (1, 16, 16), 10, small_input=False)


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "keras"])
@pytest.mark.parametrize("name", RESIDUAL_ARCHS)
def test_reaches_90_percent_on_digits_32_with_default_settings(name, framework):
    from conftest import digits32_test_acc

    assert digits32_test_acc(framework, name) >= 0.90
