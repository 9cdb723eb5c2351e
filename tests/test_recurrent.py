"""Recurrent sequence classifiers (Elman, Jordan, LSTM, GRU, bidirectional): one network in both frameworks.

`tests/test_models.py` already checks every registered architecture at its defaults
(parameter counts, outputs after transfer); these tests cover stacking, dropout,
(T, F) inputs, the Jordan feedback, the converter's gate mapping and bad input.
"""
import numpy as np
import pytest

from experiments.parity import parity
from modules import backend, registry
from modules.errors import UserError

RECURRENT = registry.names(family="recurrent")
TINY = {"hidden_size": 6, "num_layers": 2, "dropout": 0.25}


def second_biases(torch_model) -> int:
    from torch import nn

    return sum(p.numel() for m in torch_model.modules() if isinstance(m, (nn.RNN, nn.LSTM))
               for n, p in m.named_parameters() if n.startswith("bias_hh"))


def test_every_sequence_architecture_is_registered_as_recurrent():
    assert RECURRENT == ["bigru", "bilstm", "birnn", "elman", "gru", "jordan", "lstm"]


@pytest.mark.parametrize("name", RECURRENT)
def test_stacked_network_trains_one_step_in_both_frameworks(name):
    torch = backend.torch()
    tf = backend.tensorflow()
    x = np.random.default_rng(0).standard_normal((3, 7)).astype(np.float32)
    y = np.array([0, 1, 2])

    model = registry.create(name, "torch", (7,), 4, **TINY).train()
    logits = model(torch.from_numpy(x))
    torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).backward()
    assert logits.shape == (3, 4)
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0

    keras_model = registry.create(name, "keras", (7,), 4, **TINY)
    with tf.GradientTape() as tape:
        keras_logits = keras_model(x, training=True)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, keras_logits))
    keras_grads = tape.gradient(loss, keras_model.trainable_weights)
    assert tuple(keras_logits.shape) == (3, 4)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in keras_grads)
    assert sum(float(np.abs(g.numpy()).sum()) for g in keras_grads) > 0


@pytest.mark.parametrize("name", RECURRENT)
def test_stacked_network_with_several_features_matches_keras_after_transfer(name):
    report = parity(name, input_shape=(9, 3), num_classes=5, batch=2, **TINY)
    assert report["layers_transferred"] == 3  # two recurrent layers and the head
    assert report["max_abs_diff"] <= 1e-4, report


@pytest.mark.parametrize("name", RECURRENT)
def test_parameter_counts_differ_only_by_torchs_second_recurrent_bias(name):
    report = parity(name, input_shape=(5,), num_classes=3, batch=1, **TINY)
    expected = second_biases(registry.create(name, "torch", (5,), 3, **TINY))
    cell = name.removeprefix("bi")
    assert expected == {"rnn": 6, "elman": 6, "lstm": 24, "gru": 0, "jordan": 0}[cell] * 2 * (
        2 if name.startswith("bi") else 1)  # 2 layers x directions x (gates * hidden)
    assert report["param_difference"] == report["param_difference_expected"] == expected
    assert ("bias_hh" in report["param_difference_reason"]) == (expected > 0)


def test_parity_reports_a_parameter_difference_it_cannot_explain(monkeypatch):
    from modules import convert

    monkeypatch.setattr(convert, "folded_parameter_count", lambda model: (0, ""))
    report = parity("lstm", input_shape=(4,), num_classes=2, batch=1, hidden_size=3)
    assert report["param_difference"] == 12
    assert report["param_difference_reason"].startswith("UNEXPLAINED")


def test_nnlab_parity_prints_the_bias_difference_and_the_output_agreement(capsys):
    from experiments.cli import main

    assert main(["parity", "--arch", "bilstm", "--input-shape", "6", "--set", "hidden_size=5"]) == 0
    out = capsys.readouterr().out
    # per direction: W_ih 20x1 + W_hh 20x5 + 2 x 20 biases = 160; head 10x10 + 10; Keras: one bias
    assert "torch 430  keras 390  (differ by 40: PyTorch's second bias vector (bias_hh)" in out
    assert "same network" in out


def test_jordan_cell_follows_its_equations_with_the_output_fed_back():
    torch = backend.torch()
    model = registry.create("jordan", "torch", (6,), 3, hidden_size=4).eval()
    cell = model.rnn.layers[0]
    w = {n: p.detach().numpy().astype(np.float64) for n, p in cell.named_parameters()}
    x = np.random.default_rng(1).standard_normal((2, 6)).astype(np.float32)
    y = np.zeros((2, 4))
    for t in range(6):  # reference: h_t from x_t and y_{t-1}; y_t from h_t
        h = np.tanh(x[:, t:t + 1] @ w["weight_ih"].T + y @ w["weight_yh"].T + w["bias_h"])
        y = np.tanh(h @ w["weight_ho"].T + w["bias_o"])
    with torch.no_grad():
        outputs, finals = model.rnn(torch.from_numpy(x).unsqueeze(-1))
    np.testing.assert_allclose(outputs[:, -1].numpy(), y, atol=1e-6)
    np.testing.assert_allclose(finals[-1].numpy(), y, atol=1e-6)


def test_jordan_context_units_decay_and_add_the_outputs_fed_back():
    torch = backend.torch()
    model = registry.create("jordan", "torch", (6,), 3, hidden_size=4, context_decay=0.5).eval()
    cell = model.rnn.layers[0]
    w = {n: p.detach().numpy().astype(np.float64) for n, p in cell.named_parameters()}
    x = np.random.default_rng(2).standard_normal((2, 6)).astype(np.float32)
    context = np.zeros((2, 4))
    for t in range(6):  # reference: Jordan 1986's state units with self-connections
        h = np.tanh(x[:, t:t + 1] @ w["weight_ih"].T + context @ w["weight_yh"].T + w["bias_h"])
        y = np.tanh(h @ w["weight_ho"].T + w["bias_o"])
        context = 0.5 * context + y
    with torch.no_grad():
        outputs, _ = model.rnn(torch.from_numpy(x).unsqueeze(-1))
    np.testing.assert_allclose(outputs[:, -1].numpy(), y, atol=1e-6)
    assert parity("jordan", (6,), 3, hidden_size=4, context_decay=0.5)["max_abs_diff"] < 1e-5


@pytest.mark.parametrize("name", ["elman", "jordan"])
def test_plain_cells_start_orthogonal_with_zero_biases_in_both_frameworks(name):
    # torch's default uniform(+-1/sqrt(H)) recurrent matrix vanishes the gradient over 40 steps
    torch_model = registry.create(name, "torch", (8,), 3, hidden_size=16)
    keras_model = registry.create(name, "keras", (8,), 3, hidden_size=16)
    torch_weights = {n: p.detach().numpy() for n, p in torch_model.rnn.named_parameters()}
    keras_weights = {w.path.split("/")[-1]: np.asarray(w) for w in keras_model.weights if "rnn" in w.path}
    recurrent = {"elman": (["weight_hh_l0"], ["recurrent_kernel"]),
                 "jordan": (["layers.0.weight_yh", "layers.0.weight_ho"], ["feedback_kernel", "output_kernel"])}[name]
    for matrix in [torch_weights[n] for n in recurrent[0]] + [keras_weights[n] for n in recurrent[1]]:
        np.testing.assert_allclose(matrix @ matrix.T, np.eye(16), atol=1e-5)
    biases = [w for n, w in {**torch_weights, **keras_weights}.items() if "bias" in n]
    assert len(biases) >= 2 and all(not b.any() for b in biases)


def test_jordan_remembers_earlier_steps_only_through_its_output_feedback():
    torch = backend.torch()

    def influence_of_first_step_on_last_output(feedback_scale: float) -> float:
        torch.manual_seed(0)
        model = registry.create("jordan", "torch", (5,), 2, hidden_size=4)
        cell = model.rnn.layers[0]
        with torch.no_grad():
            cell.weight_yh.mul_(feedback_scale)
        x = torch.randn(1, 5, 1, requires_grad=True)
        outputs, _ = model.rnn(x)
        outputs[0, -1].sum().backward()
        return float(x.grad[0, 0].abs().sum())

    assert influence_of_first_step_on_last_output(0.0) == 0.0  # no feedback: no memory
    assert influence_of_first_step_on_last_output(1.0) > 1e-6


def test_jordan_output_layer_weights_change_the_next_steps_hidden_layer():
    # what makes it Jordan, not Elman: the output layer sits inside the loop
    torch = backend.torch()
    torch.manual_seed(0)
    model = registry.create("jordan", "torch", (3,), 2, hidden_size=4)
    cell = model.rnn.layers[0]
    x = torch.randn(1, 3, 1)
    with torch.no_grad():
        before = model.rnn(x)[0]
        cell.weight_ho.add_(0.5)
        after = model.rnn(x)[0]
    # y_0 changes directly; y_1 changes further through the fed-back y_0
    assert float((after - before).abs().min()) > 1e-4


def test_gru_gates_must_be_reordered_for_keras():
    # a control for the parity tests: swapping Keras's z and r blocks back breaks the match
    torch = backend.torch()
    from modules.convert import transfer

    torch.manual_seed(0)
    t_model = registry.create("gru", "torch", (8,), 3, hidden_size=5).eval()
    k_model = registry.create("gru", "keras", (8,), 3, hidden_size=5)
    transfer(t_model, k_model)
    x = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    with torch.no_grad():
        expected = t_model(torch.from_numpy(x)).numpy()
    assert np.abs(np.asarray(k_model(x)) - expected).max() <= 1e-5
    layer = {lay.name: lay for lay in k_model.layers}["rnn.l0"]
    kernel, recurrent, bias = layer.get_weights()
    swap = np.r_[5:10, 0:5, 10:15]  # (z, r, h) -> (r, z, h), torch's order
    layer.set_weights([kernel[:, swap], recurrent[:, swap], bias[:, swap]])
    assert np.abs(np.asarray(k_model(x)) - expected).max() > 1e-3


@pytest.mark.parametrize("framework", ["torch", "keras"])
@pytest.mark.parametrize("shape", [(0,), (0, 3), (5, 0), (2, 3, 4)])
def test_a_sequence_shape_without_steps_or_features_is_refused_in_one_line(framework, shape):
    with pytest.raises(UserError) as err:
        registry.create("gru", framework, shape, 10)
    assert "\n" not in str(err.value)
    assert "--input-shape" in str(err.value) or "sequence data" in str(err.value)


def test_nnlab_parity_refuses_a_zero_length_sequence(capsys):
    from experiments.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["parity", "--arch", "gru", "--input-shape", "0"])
    assert exit_.value.code == 2
    assert "every dimension must be in [1, " in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_gru_on_mnist1d_reaches_85_percent_with_its_defaults(framework):
    from experiments.config import TrainConfig
    from experiments.train import train

    arch = registry.get("gru")
    config = TrainConfig(framework=framework, arch="gru", data="mnist1d", quiet=True,
                         **arch.train_defaults).validate()
    assert train(config, progress=lambda *a: None)["test/acc"] >= 0.85


def train_with_defaults(framework: str, arch: str, data: str | None = None) -> dict:
    """`nnlab train --framework F --arch A [--data D]`: the registry's defaults, no params.yaml."""
    from experiments.plan import resolve
    from experiments.train import train

    plan = resolve({"framework": framework, "arch": arch, "data": data, "quiet": True}, params_file=None)
    return train(plan.config, progress=lambda *a: None)


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_elman_on_mnist1d_reaches_75_percent_with_its_defaults(framework):
    assert train_with_defaults(framework, "elman")["test/acc"] >= 0.75


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_jordan_on_mnist1d_reaches_60_percent_with_its_defaults(framework):
    assert train_with_defaults(framework, "jordan", "mnist1d")["test/acc"] >= 0.60


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_jordan_forecasts_its_default_series_30_percent_better_than_persistence(framework):
    summary = train_with_defaults(framework, "jordan")  # sunspots
    assert summary["test/nrmse"] <= 0.7 * summary["test/persistence_nrmse"]
