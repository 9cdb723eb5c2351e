"""The multilayer perceptron's per-layer widths (`widths`) and its `zalando` preset: Zalando's
Fashion-MNIST benchmark MLP 784-256-128-100-10, one network in torch, Keras and NumPy."""
from __future__ import annotations

import numpy as np
import pytest

from experiments.parity import parity
from modules import registry

FASHION_SHAPE, FASHION_CLASSES = (1, 28, 28), 10
# 784-256-128-100-10: weights and biases of the three hidden layers and the head
ZALANDO_PARAMS = (784 * 256 + 256) + (256 * 128 + 128) + (128 * 100 + 100) + (100 * 10 + 10)


def zalando() -> dict:
    return registry.get("mlp").hyperparameters(preset="zalando")


def test_zalando_preset_is_the_benchmarks_network():
    assert ZALANDO_PARAMS == 247_766
    assert zalando() == {"depth": 3, "width": 256, "widths": "256-128-100", "activation": "tanh",
                         "dropout": 0.4, "init": "he"}


def test_zalando_preset_is_one_network_in_torch_and_keras():
    report = parity("mlp", FASHION_SHAPE, FASHION_CLASSES, **zalando())
    assert report["n_params_torch"] == report["n_params_keras"] == ZALANDO_PARAMS
    assert report["layers_transferred"] == 4 and report["same_network"], report
    assert report["max_abs_diff"] <= 1e-5, report


def test_zalando_preset_is_one_network_in_torch_and_numpy():
    from modules import backend
    from modules.feedforward.numpy_net import mlp as numpy_mlp

    torch = backend.torch()
    torch.manual_seed(0)
    torch_net = registry.get("mlp").build("torch", FASHION_SHAPE, FASHION_CLASSES, **zalando()).eval()
    numpy_net = numpy_mlp(FASHION_SHAPE, FASHION_CLASSES, **zalando())
    state = {k: v.detach().numpy() for k, v in torch_net.state_dict().items()}
    assert {k: v.shape for k, v in state.items()} == {
        "hidden.0.linear.weight": (256, 784), "hidden.0.linear.bias": (256,),
        "hidden.1.linear.weight": (128, 256), "hidden.1.linear.bias": (128,),
        "hidden.2.linear.weight": (100, 128), "hidden.2.linear.bias": (100,),
        "head.weight": (10, 100), "head.bias": (10,)}
    numpy_net.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((3, *FASHION_SHAPE)).astype(np.float32)
    with torch.no_grad():
        expected = torch_net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(numpy_net.forward(x), expected, rtol=0, atol=1e-5)


def test_widths_that_repeat_width_build_the_default_network_by_the_same_names():
    arch = registry.get("mlp")
    default = arch.build("torch", (40,), 10)
    spelled_out = arch.build("torch", (40,), 10, widths="256-256-256")
    assert {k: v.shape for k, v in default.state_dict().items()} == \
        {k: v.shape for k, v in spelled_out.state_dict().items()}


@pytest.mark.parametrize("written", ["256-128-100", "256,128,100", "(256, 128, 100)", (256, 128, 100),
                                     [256, 128, 100], " 256 - 128 - 100 "])
def test_widths_are_read_in_every_form_and_kept_in_one(written):
    from experiments.config import config_from_logged

    hparams = registry.get("mlp").hyperparameters({"widths": written})
    assert hparams["widths"] == "256-128-100"
    logged = {"arch": "mlp", "framework": "torch", "data": "fashion_mnist",
              **{k: str(v) for k, v in hparams.items()}}
    assert config_from_logged(logged).hparams == hparams  # an MLflow param reads back as it was


def test_widths_none_clears_a_presets_widths_and_one_width_is_one_layer():
    arch = registry.get("mlp")
    assert arch.hyperparameters({"widths": "none"}, preset="zalando")["widths"] is None
    assert arch.hyperparameters({"widths": 100})["widths"] == "100"
    assert parity("mlp", (12,), 3, widths="7", dropout=0.0)["n_params_torch"] == 12 * 7 + 7 + 7 * 3 + 3


@pytest.mark.parametrize("value,message", [
    ("0", r"widths='0': every width must be in \[1, 1048576\]"),
    ("256-0-100", "every width must be in"),
    ("-1", "widths='-1' is not valid: give whole numbers joined by '-'"),
    ("", "widths is empty: give one width per hidden layer"),
    ("abc", "widths='abc' is not valid"),
    ("256--100", "is not valid"),
    ("1.5", "is not valid"),
])
def test_bad_widths_are_one_line_and_exit_2(capsys, value, message):
    import re

    from experiments.cli import main

    for argv in (["train", "--arch", "mlp", "--data", "digits", "--epochs", "1", "--quiet"],
                 ["parity", "--arch", "mlp"]):
        assert main([*argv, "--set", f"widths={value}"]) == 2
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(lines) == 1 and re.search(message, lines[0]), lines
        assert "widths=256-128-100" in lines[0]  # the fix


def test_nnlab_list_shows_the_zalando_preset(capsys):
    from experiments.catalog_view import listing
    from experiments.cli import main

    mlp = next(a for a in listing()["architectures"] if a["name"] == "mlp")
    assert "zalando" in mlp["presets"] and mlp["preset_values"]["zalando"]["widths"] == "256-128-100"
    assert main(["list"]) == 0
    assert "zalando" in next(line for line in capsys.readouterr().out.splitlines() if line.startswith("mlp "))
