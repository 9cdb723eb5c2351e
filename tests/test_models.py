"""Every registered architecture, in both frameworks: the same network.

These tests read the registry, so a new architecture is tested the day it is
registered.
"""
import numpy as np
import pytest

from experiments import catalog_view
from experiments.parity import parity
from modules import registry

ARCHS = registry.names()


def second_recurrent_biases(torch_model) -> int:
    """Parameters in torch's second bias vectors (bias_hh) of RNN and LSTM layers and cells, which
    Keras sums into one bias; torch's GRU and Keras's GRU(reset_after=True) both keep two."""
    from torch import nn

    redundant = (nn.RNN, nn.LSTM, nn.RNNCell, nn.LSTMCell)
    return sum(p.numel() for m in torch_model.modules() if isinstance(m, redundant)
               for n, p in m.named_parameters() if n.startswith("bias_hh"))


@pytest.mark.parametrize("name", ARCHS)
def test_parameter_counts_are_equal_in_both_frameworks_and_cached(name):
    arch = registry.get(name)
    counts = {fw: catalog_view.count_parameters(arch, fw) for fw in registry.FRAMEWORKS}
    cached = catalog_view.cached_counts().get(name, {})
    assert counts["torch"] > 0
    # equal, except for torch's redundant recurrent bias (0 for every non-recurrent network)
    redundant = second_recurrent_biases(arch.build("torch", *catalog_view.default_input(arch)))
    assert counts["torch"] - counts["keras"] == redundant, counts
    assert {fw: cached.get(fw) for fw in registry.FRAMEWORKS} == counts, \
        "modules/param_counts.json is stale: run `nnlab list --refresh`"


@pytest.mark.parametrize("name", ARCHS)
def test_outputs_match_after_weight_transfer_from_torch_to_keras(name):
    report = parity(name, batch=3)
    assert report["layers_transferred"] > 0
    assert report["max_abs_diff"] <= 1e-4, report


def test_lenet5_has_the_papers_parameter_count():
    # 32x32 input (28x28 padded by 2): 156 + 2,416 + 48,120 + 10,164 + 850
    assert parity("lenet5", input_shape=(1, 32, 32))["n_params_torch"] == 61_706


def test_mlp_width_and_depth_set_the_parameter_count():
    report = parity("mlp", input_shape=(40,), depth=2, width=10, dropout=0.0)
    assert report["n_params_torch"] == report["n_params_keras"] == 40 * 10 + 10 + 10 * 10 + 10 + 10 * 10 + 10


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "gelu", "elu", "silu"])
def test_every_activation_is_the_same_function_in_both_frameworks(activation):
    report = parity("mlp", input_shape=(12,), activation=activation, dropout=0.0)
    assert report["max_abs_diff"] <= 1e-5


def test_an_input_too_small_for_the_network_names_the_minimum():
    from modules.errors import UserError

    with pytest.raises(UserError, match="at least 28x28.*--input-shape"):
        parity("lenet5", input_shape=(1, 8, 8))


def test_weight_transfer_changes_keras_outputs_to_torchs():
    # a control: without transfer the twins disagree, so the parity test can fail
    from modules import backend
    from modules.convert import outputs_channels_first, random_inputs

    torch = backend.torch()
    arch = registry.get("lenet5")
    t = arch.build("torch", (1, 28, 28), 10).eval()
    k = arch.build("keras", (1, 28, 28), 10)
    x_t, x_k = random_inputs((1, 28, 28), 2, 0)
    with torch.no_grad():
        y_t = t(torch.from_numpy(x_t)).numpy()
    assert np.abs(y_t - outputs_channels_first(np.asarray(k(x_k)))).max() > 1e-3


ACTIVATION_ARCHS = [n for n in ARCHS if "activation" in registry.get(n).defaults]


def test_the_classic_feedforward_and_convolutional_nets_take_an_activation():
    assert {"mlp", "lenet5", "alexnet", "vgg11", "vgg16"} <= set(ACTIVATION_ARCHS)


@pytest.mark.parametrize("name", ACTIVATION_ARCHS)
def test_a_non_default_activation_changes_the_network_in_both_frameworks_alike(name):
    default = registry.get(name).defaults["activation"]
    other = "tanh" if default != "tanh" else "elu"
    report = parity(name, batch=2, activation=other)
    assert report["max_abs_diff"] <= 1e-4
    assert report["n_params_torch"] == parity(name, batch=2)["n_params_torch"]
