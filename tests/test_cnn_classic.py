"""AlexNet, VGG and GoogLeNet: faithful to their papers, one network in both frameworks.

The registry-wide tests (test_models.py) compare parameter counts and outputs after
weight transfer at the default settings; these add the variants (LRN, batch norm with
non-trivial statistics, auxiliary classifiers, ImageNet stems), torchvision's counts at
ImageNet size, the Keras LRN layer against torch's, the auxiliary losses in both
training tasks, one training step per framework, and (slow) training to target accuracy.
"""
from __future__ import annotations

import numpy as np
import pytest

from modules import backend, registry
from modules.convert import outputs_channels_first, random_inputs, transfer
from modules.errors import UserError

CLASSIC_ARCHS = [a.name for a in registry.all_architectures() if a.module in ("alexnet", "vgg", "googlenet")]


def randomize_batch_norm(model, seed: int = 0) -> None:
    """Give every BN layer random affine weights and running statistics (mean != var)."""
    torch = backend.torch()
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.weight.data = 0.5 + torch.rand(n, generator=generator)
            module.bias.data = 0.2 * torch.randn(n, generator=generator)
            module.running_mean.data = 0.3 * torch.randn(n, generator=generator)
            module.running_var.data = 0.5 + 1.5 * torch.rand(n, generator=generator)


def twins(name: str, input_shape: tuple, num_classes: int = 10, **hparams):
    """(torch model in eval mode with random BN statistics, Keras model with its weights)."""
    torch = backend.torch()
    torch.manual_seed(0)
    arch = registry.get(name)
    torch_model = arch.build("torch", input_shape, num_classes, **hparams).eval()
    randomize_batch_norm(torch_model)
    keras_model = arch.build("keras", input_shape, num_classes, **hparams)
    transfer(torch_model, keras_model)
    return torch_model, keras_model


def counts(torch_model, keras_model) -> tuple[int, int]:
    from modules.toolkit.keras_layers import count_parameters as count_keras
    from modules.toolkit.torch_layers import count_parameters as count_torch

    return count_torch(torch_model), count_keras(keras_model)


# (name, input shape, hyperparameters): the defaults, then every option switched.
VARIANTS = [(name, (1, 32, 32), {}) for name in CLASSIC_ARCHS] + [
    ("alexnet", (1, 32, 32), {"lrn": True}),
    ("alexnet", (3, 29, 29), {"channels": "2014", "dropout": 0.0}),  # odd side: paddings must agree
    ("alexnet", (3, 67, 67), {"small_input": False, "lrn": True}),
    ("vgg11", (3, 32, 32), {"batch_norm": False}),
    ("vgg19", (1, 64, 64), {"batch_norm": False}),
    ("googlenet", (1, 32, 32), {"aux_logits": False}),
    ("googlenet", (3, 27, 27), {"lrn": True, "batch_norm": False}),  # odd sides: ceil poolings agree
    ("googlenet", (3, 96, 96), {"small_input": False, "lrn": True}),
]


@pytest.mark.parametrize("name,input_shape,hparams", VARIANTS,
                         ids=[f"{n}-{'x'.join(map(str, s))}-{','.join(f'{k}={v}' for k, v in h.items())}"
                              for n, s, h in VARIANTS])
def test_every_variant_has_equal_counts_and_outputs_after_transfer(name, input_shape, hparams):
    torch = backend.torch()
    torch_model, keras_model = twins(name, input_shape, **hparams)
    n_torch, n_keras = counts(torch_model, keras_model)
    assert n_torch == n_keras > 0
    x_torch, x_keras = random_inputs(input_shape, 2, seed=1)
    x_torch, x_keras = 10 * x_torch, 10 * x_keras  # outputs well away from 0 with default inits
    with torch.inference_mode():
        y_torch = torch_model(torch.from_numpy(x_torch)).numpy()
    y_keras = outputs_channels_first(np.asarray(keras_model(x_keras, training=False)))
    assert np.abs(y_torch).max() > 1e-2  # so the comparison means something
    assert np.abs(y_torch - y_keras).max() <= 1e-4


def count_at_imagenet_size(build) -> int:
    """Parameters of a torch network built on the meta device: counted, never allocated."""
    torch = backend.torch()
    from modules.toolkit.torch_layers import count_parameters

    with torch.device("meta"):
        return count_parameters(build())


# (preset, overrides) at ImageNet size: the published networks; for AlexNet torchvision's
# ("One weird trick" widths, no LRN), whose parameter count it then has
IMAGENET_SETTINGS = {"alexnet": ("paper", {"channels": "2014", "lrn": False}),
                     "vgg11": ("paper", {}),
                     "vgg16": ("paper", {}),
                     "googlenet": ("paper", {})}


def build_at_imagenet_size(name: str, framework: str = "torch", **overrides):
    preset, settings = IMAGENET_SETTINGS[name]
    return registry.get(name).build(framework, (3, 224, 224), 1000, preset=preset, **{**settings, **overrides})


@pytest.mark.parametrize("name", ["vgg11", "vgg16"])
def test_vgg_at_imagenet_size_has_torchvisions_parameter_count(name):
    import torchvision

    expected = {"vgg11": 132_863_336, "vgg16": 138_357_544}[name]
    assert count_at_imagenet_size(lambda: getattr(torchvision.models, name)(weights=None)) == expected
    assert count_at_imagenet_size(lambda: build_at_imagenet_size(name)) == expected
    assert (count_at_imagenet_size(lambda: build_at_imagenet_size(name, batch_norm=True))
            == count_at_imagenet_size(lambda: getattr(torchvision.models, f"{name}_bn")(weights=None)))


def test_alexnet_has_the_papers_count_and_torchvisions_with_its_widths():
    import torchvision

    arch = registry.get("alexnet")
    # the paper's layers, its two GPU halves merged: 62,378,344 (the paper rounds to 60M)
    assert count_at_imagenet_size(lambda: arch.build("torch", (3, 224, 224), 1000, preset="paper")) == 62_378_344
    # "One weird trick" widths without LRN: torchvision's alexnet, 61,100,840
    ours = count_at_imagenet_size(lambda: build_at_imagenet_size("alexnet"))
    assert ours == count_at_imagenet_size(lambda: torchvision.models.alexnet(weights=None)) == 61_100_840


def test_googlenet_differs_from_torchvision_only_by_its_3x3_third_branch():
    import torchvision
    from torchvision.models.googlenet import BasicConv2d, Inception

    for aux_logits in (False, True):
        reference = torchvision.models.googlenet(weights=None, aux_logits=aux_logits, init_weights=False)
        # torchvision's "5x5" branch convolves 3x3 (pytorch/vision#906); the paper's is 5x5
        with_bn = count_at_imagenet_size(lambda ref=reference: ref) + sum(
            (25 - 9) * m.branch3[1].conv.in_channels * m.branch3[1].conv.out_channels
            for m in reference.modules() if isinstance(m, Inception))
        # the paper: a bias per channel instead of batch norm's two parameters
        paper = with_bn - sum(m.bn.num_features for m in reference.modules() if isinstance(m, BasicConv2d))
        for batch_norm, expected in ((True, with_bn), (False, paper)):
            ours = count_at_imagenet_size(lambda aux=aux_logits, bn=batch_norm: build_at_imagenet_size(
                "googlenet", aux_logits=aux, batch_norm=bn))
            assert ours == expected
    assert paper == 13_378_280


@pytest.mark.slow
@pytest.mark.parametrize("name", list(IMAGENET_SETTINGS))
def test_keras_counts_equal_torchs_at_imagenet_size(name):
    from modules.toolkit.keras_layers import count_parameters as count_keras

    torch_count = count_at_imagenet_size(lambda: build_at_imagenet_size(name))
    assert count_keras(build_at_imagenet_size(name, "keras")) == torch_count


@pytest.mark.parametrize("size,channels", [(5, 16), (4, 7), (5, 3), (1, 4)])
def test_keras_local_response_norm_computes_torchs_formula(size, channels):
    torch = backend.torch()
    from modules.toolkit.keras_local_response_norm import LocalResponseNorm

    settings = {"size": size, "alpha": 5e-3, "beta": 0.75, "k": 2.0}
    x = 3 * np.random.default_rng(0).standard_normal((2, channels, 5, 6)).astype(np.float32)
    expected = torch.nn.LocalResponseNorm(**settings)(torch.from_numpy(x)).numpy()
    got = outputs_channels_first(np.asarray(LocalResponseNorm(**settings)(x.transpose(0, 2, 3, 1))))
    assert np.abs(expected - got).max() <= 1e-6
    assert np.abs(expected - x).max() > 1e-2  # it normalises something


def test_googlenet_returns_auxiliary_logits_only_in_training_in_both_frameworks():
    torch = backend.torch()
    torch_model, keras_model = twins("googlenet", (1, 32, 32))
    x_torch, x_keras = random_inputs((1, 32, 32), 3, seed=0)
    train_outputs = torch_model.train()(torch.from_numpy(x_torch))
    assert [tuple(t.shape) for t in train_outputs] == [(3, 10)] * 3
    assert tuple(torch_model.eval()(torch.from_numpy(x_torch)).shape) == (3, 10)
    assert [tuple(t.shape) for t in keras_model(x_keras, training=True)] == [(3, 10)] * 3
    assert tuple(keras_model(x_keras, training=False).shape) == (3, 10)


def test_both_classifier_tasks_add_the_auxiliary_losses_with_weight_0_3():
    torch = backend.torch()
    keras = backend.keras()
    import torch.nn.functional as F

    from experiments.tasks.classify.keras_task import AuxiliaryLossModel, ClassifierTask as KerasTask
    from experiments.tasks.classify.torch_task import ClassifierTask as TorchTask

    x_torch, x_keras = random_inputs((1, 32, 32), 4, seed=0)
    y = np.array([0, 1, 2, 3])
    task = TorchTask(registry.get("googlenet").build("torch", (1, 32, 32), 10)).train()
    torch.manual_seed(5)  # the same dropout masks in both forward passes
    loss = task.training_step((torch.from_numpy(x_torch), torch.from_numpy(y)), 0)
    torch.manual_seed(5)
    main, aux1, aux2 = task.network(torch.from_numpy(x_torch))
    target = torch.from_numpy(y)
    expected = F.cross_entropy(main, target) + 0.3 * (F.cross_entropy(aux1, target) + F.cross_entropy(aux2, target))
    assert abs(loss.item() - expected.item()) < 1e-6 and loss.item() > F.cross_entropy(main, target).item()

    keras_task = KerasTask(registry.get("googlenet").build("keras", (1, 32, 32), 10))
    assert isinstance(keras_task.model, AuxiliaryLossModel)
    logits = [np.random.default_rng(i).standard_normal((4, 10)).astype(np.float32) for i in range(3)]
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    got = float(keras_task.model.compute_loss(x_keras, y, tuple(logits)))
    assert abs(got - float(ce(y, logits[0]) + 0.3 * (ce(y, logits[1]) + ce(y, logits[2])))) < 1e-5
    plain = registry.get("googlenet").build("keras", (1, 32, 32), 10, aux_logits=False)
    assert KerasTask(plain).model is plain  # single-output networks are compiled as they are


@pytest.mark.parametrize("name", CLASSIC_ARCHS)
def test_one_training_step_updates_every_weight_in_both_frameworks(name):
    torch = backend.torch()
    from experiments.tasks import task_class

    arch = registry.get(name)
    x_torch, x_keras = random_inputs((1, 32, 32), 8, seed=0)
    y = np.arange(8) % 4

    task = task_class("classify", "torch")(arch.build("torch", (1, 32, 32), 4)).train()
    loss = task.training_step((torch.from_numpy(x_torch), torch.from_numpy(y)), 0)
    loss.backward()
    assert np.isfinite(loss.item())
    assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
               for p in task.network.parameters())

    keras_task = task_class("classify", "keras")(arch.build("keras", (1, 32, 32), 4))
    keras_task.model.run_eagerly = True  # one step: tracing a graph would cost more than it saves
    before = [w.numpy().copy() for w in keras_task.network.trainable_weights]
    keras_loss = keras_task.model.train_on_batch(x_keras, y, return_dict=True)["loss"]
    assert np.isfinite(keras_loss)
    after = [w.numpy() for w in keras_task.network.trainable_weights]
    assert all(np.abs(a - b).max() > 0 for a, b in zip(after, before))
    assert len(after) == len(list(task.network.parameters()))


def test_an_image_too_small_names_the_minimum_and_image_size():
    from experiments.config import TrainConfig

    for name, minimum in (("alexnet", 15), ("vgg16", 32), ("googlenet", 20)):
        assert registry.get(name).min_input_size == minimum
        with pytest.raises(UserError, match=rf"{name} needs images of at least {minimum}x{minimum}.*"
                                            rf"--image-size {minimum}"):
            TrainConfig(arch=name, data="digits", image_size=8).validate()
    with pytest.raises(UserError, match=r"small_input=false needs images of at least 63x63.*--image-size 63"):
        registry.get("alexnet").build("torch", (1, 32, 32), 10, small_input=False)
    with pytest.raises(UserError, match=r"aux_logits=true needs images of at least 79x79.*--image-size 79"):
        registry.get("googlenet").build("keras", (1, 64, 64), 10, small_input=False)
    registry.get("googlenet").build("keras", (1, 64, 64), 10, small_input=False, aux_logits=False)


def test_the_cli_reports_a_too_small_image_in_one_line():
    from conftest import run_cli

    result = run_cli("train", "--arch", "alexnet", "--data", "digits", "--image-size", "8")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "at least 15x15" in lines[0] and "--image-size 15" in lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "keras"])
@pytest.mark.parametrize("name", CLASSIC_ARCHS)
def test_reaches_90_percent_on_digits_32_with_default_settings(name, framework):
    from conftest import digits32_test_acc

    assert digits32_test_acc(framework, name) >= 0.90
