"""torchvision's state dicts load by name into the lab's ImageNet configurations and compute
torchvision's outputs; `--init-weights FILE` starts a run from one, in torch and in Keras.

ResNet and DenseNet are checked in tests/test_cnn_residual.py; here AlexNet, VGG (with and
without batch norm) and GoogLeNet, the ones whose names needed work (a Flatten used to shift
the classifier's indices; GoogLeNet's BasicConv2d wrappers are renamed by a load hook).
"""
from __future__ import annotations

import numpy as np
import pytest

from modules import backend, registry
from modules.convert import outputs_channels_first
from tests.conftest import run_cli

# lab name, preset, overrides -> torchvision builder name
TORCHVISION_TWINS = {
    "alexnet": ("alexnet", "torchvision", {}),
    "vgg11": ("vgg11", "paper", {}),
    "vgg11_bn": ("vgg11", "paper", {"batch_norm": True}),
    "googlenet": ("googlenet", "torchvision", {}),
}
MORE_VGGS = {f"vgg{d}{bn}": (f"vgg{d}", "paper", {"batch_norm": bool(bn)})
             for d in (13, 16, 19) for bn in ("", "_bn")}


def torchvision_model(name: str):
    import torchvision

    backend.torch()
    kwargs = {"init_weights": True} if name.startswith("googlenet") else {}
    return getattr(torchvision.models, name)(weights=None, **kwargs).eval()


def check_loads_and_agrees(tv_name: str) -> None:
    torch = backend.torch()
    torch.manual_seed(0)
    lab_name, preset, overrides = {**TORCHVISION_TWINS, **MORE_VGGS}[tv_name]
    reference = torchvision_model(tv_name)
    ours = registry.get(lab_name).build("torch", (3, 224, 224), 1000, preset=preset, **overrides).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        expected, got = reference(x), ours(x)
    assert float((expected - got).abs().max()) <= 1e-5 * float(expected.abs().max())


@pytest.mark.parametrize("tv_name", list(TORCHVISION_TWINS))
def test_torchvision_state_dict_loads_strictly_and_gives_torchvisions_outputs(tv_name):
    check_loads_and_agrees(tv_name)


@pytest.mark.slow
@pytest.mark.parametrize("tv_name", list(MORE_VGGS))
def test_every_vgg_loads_torchvisions_state_dict(tv_name):
    check_loads_and_agrees(tv_name)


def test_googlenet_still_loads_its_own_state_dict():
    torch = backend.torch()
    arch = registry.get("googlenet")
    first, second = (arch.build("torch", (3, 32, 32), 10) for _ in range(2))
    second.load_state_dict(first.state_dict(), strict=True)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))


@pytest.fixture
def small_vgg_file(tmp_path):
    """A 1,000-class small-image VGG-11 saved as a plain state dict."""
    torch = backend.torch()
    torch.manual_seed(1)
    network = registry.get("vgg11").build("torch", (3, 32, 32), 1000)
    path = tmp_path / "vgg11.pt"
    torch.save(network.state_dict(), path)
    return network.eval(), path


def test_init_weights_gives_keras_the_same_network(small_vgg_file):
    from experiments.init_weights import load_into_keras, load_into_torch

    torch = backend.torch()
    source, path = small_vgg_file
    arch = registry.get("vgg11")
    torch_net = arch.build("torch", (3, 32, 32), 1000)
    load_into_torch(torch_net, path, 1000)
    keras_net = arch.build("keras", (3, 32, 32), 1000)
    load_into_keras(arch, keras_net, (3, 32, 32), 1000, arch.hyperparameters({}), path)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.inference_mode():
        expected = source(torch.from_numpy(x)).numpy()
        assert np.array_equal(torch_net.eval()(torch.from_numpy(x)).numpy(), expected)
    got = outputs_channels_first(np.asarray(keras_net(x.transpose(0, 2, 3, 1), training=False)))
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()


def test_init_weights_keeps_a_fresh_output_layer_for_another_class_count(small_vgg_file):
    from experiments.init_weights import load_into_torch

    torch = backend.torch()
    source, path = small_vgg_file
    network = registry.get("vgg11").build("torch", (3, 32, 32), 10)
    fresh = network.state_dict()["classifier.6.weight"].clone()
    said = []
    load_into_torch(network, path, 10, progress=said.append)
    assert said == ["--init-weights: classifier.6.weight, classifier.6.bias sized for another number of classes; "
                    "kept freshly initialised for 10 classes"]
    assert torch.equal(network.state_dict()["classifier.6.weight"], fresh)
    assert torch.equal(network.state_dict()["classifier.3.weight"], source.state_dict()["classifier.3.weight"])


def test_init_weights_that_do_not_fit_are_one_line(small_vgg_file):
    from experiments.init_weights import load_into_torch
    from modules.errors import UserError

    _, path = small_vgg_file
    with pytest.raises(UserError, match="does not fit this network"):
        load_into_torch(registry.get("vgg13").build("torch", (3, 32, 32), 10), path, 10)


@pytest.mark.integration
def test_init_weights_bad_files_exit_2_with_one_line(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    for path, says in ((tmp_path / "missing.pt", "no such file"), (garbage, "is not a readable state dict")):
        result = run_cli("train", "--arch", "vgg11", "--data", "digits", "--image-size", "32",
                         "--init-weights", str(path), "--fast-dev-run", cwd=tmp_path)
        assert result.returncode == 2, result.stderr[-1500:]
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], result.stderr
