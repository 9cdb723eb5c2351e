"""The fundamentals lab: hand-written backprop matches both frameworks' autograd, and each
lesson measures what it claims (activations agree across frameworks, sigmoid's gradients
vanish and relu's do not, a deep linear network is no better than logistic regression)."""
import json

import numpy as np
import pytest
from conftest import mlflow_runs, run_cli

from modules import backend, registry
from modules.activations import ACTIVATIONS
from modules.feedforward.numpy_net import mlp as numpy_mlp
from modules.toolkit.numpy_layers import softmax_cross_entropy

INPUT, CLASSES, DEPTH, WIDTH, BATCH = (12,), 4, 2, 5, 8


def small_problem(activation: str, seed: int = 0):
    """A float64 NumPy MLP (12 -> 5 -> 5 -> 4) and one batch of 8."""
    net = numpy_mlp(INPUT, CLASSES, depth=DEPTH, width=WIDTH, widths=None, activation=activation, dropout=0.0,
                    init="default", seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    return net, rng.standard_normal((BATCH, *INPUT)), rng.integers(0, CLASSES, BATCH)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def torch_twin(net, activation: str):
    """The registry's torch MLP in float64 holding the NumPy network's weights."""
    torch = backend.torch()
    twin = registry.get("mlp").build("torch", INPUT, CLASSES, depth=DEPTH, width=WIDTH,
                                     activation=activation, dropout=0.0).double()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    return twin


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numpy_backprop_matches_torch_autograd_in_float64(activation):
    torch = backend.torch()
    net, x, y = small_problem(activation)
    loss, _, grads = net.loss_and_gradients(x, y)
    twin = torch_twin(net, activation)
    torch_loss = torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y))
    torch_loss.backward()
    assert abs(loss - torch_loss.item()) <= 1e-12
    for name, param in twin.named_parameters():
        assert relative_error(grads[name], param.grad.numpy()) <= 1e-6, name


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numpy_backprop_matches_tensorflow_gradient_tape_in_float64(activation):
    from modules.convert import transfer

    keras = backend.keras()
    tf = backend.tensorflow()
    net, x, y = small_problem(activation)
    _, _, grads = net.loss_and_gradients(x, y)
    # Keras caches its global dtype policy once any layer exists, so set it, not only floatx
    previous, previous_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        twin = registry.get("mlp").build("keras", INPUT, CLASSES, depth=DEPTH, width=WIDTH,
                                         activation=activation, dropout=0.0)
    finally:
        keras.config.set_floatx(previous)
        keras.config.set_dtype_policy(previous_policy)
    transfer(torch_twin(net, activation), twin)
    dense = [layer for layer in twin.layers if isinstance(layer, keras.layers.Dense)]
    assert all(layer.kernel.dtype == "float64" for layer in dense)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, twin(x), from_logits=True))
    tape_grads = tape.gradient(loss, [w for layer in dense for w in (layer.kernel, layer.bias)])
    for layer, (kernel, bias) in zip(dense, zip(tape_grads[::2], tape_grads[1::2])):
        # Keras keeps the kernel as (in, out), torch and the NumPy network as (out, in)
        assert relative_error(grads[f"{layer.name}.weight"], np.asarray(kernel).T) <= 1e-6, layer.name
        assert relative_error(grads[f"{layer.name}.bias"], np.asarray(bias)) <= 1e-6, layer.name


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_numpy_backprop_passes_a_finite_difference_check(activation):
    net, x, y = small_problem(activation)
    _, _, grads = net.loss_and_gradients(x, y)
    eps = 1e-6
    for name, param in net.parameters().items():
        numeric = np.zeros_like(param)
        for i in np.ndindex(param.shape):  # central differences, every coordinate
            saved = param[i]
            param[i] = saved + eps
            up, _ = softmax_cross_entropy(net.forward(x), y)
            param[i] = saved - eps
            down, _ = softmax_cross_entropy(net.forward(x), y)
            param[i] = saved
            numeric[i] = (up - down) / (2 * eps)
        assert relative_error(grads[name], numeric) <= 1e-6, name


def test_finite_difference_check_catches_a_wrong_derivative(monkeypatch):
    # a control: break sigmoid's derivative and the check above must fail
    from modules.toolkit import numpy_layers as layers

    original = layers.activation_and_derivative
    monkeypatch.setattr(layers, "activation_and_derivative",
                        lambda name, z: (original(name, z)[0], 0.3 * np.ones_like(z)))
    net, x, y = small_problem("sigmoid")
    _, _, grads = net.loss_and_gradients(x, y)
    param, eps = net.parameters()["hidden.0.linear.weight"], 1e-6
    param[0, 0] += eps
    up, _ = softmax_cross_entropy(net.forward(x), y)
    param[0, 0] -= 2 * eps
    down, _ = softmax_cross_entropy(net.forward(x), y)
    assert abs((up - down) / (2 * eps) - grads["hidden.0.linear.weight"][0, 0]) > 1e-4


def test_numpy_mlp_with_dropout_has_torchs_parameter_names_and_count():
    from modules.toolkit.numpy_layers import count_parameters

    net = numpy_mlp((1, 8, 8), 10, depth=3, width=32, widths=None, activation="relu", dropout=0.2, init="default")
    twin = registry.get("mlp").build("torch", (1, 8, 8), 10, depth=3, width=32, dropout=0.2)
    assert {k: v.shape for k, v in net.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in twin.state_dict().items()}
    assert count_parameters(net) == 64 * 32 + 32 + 2 * (32 * 32 + 32) + 32 * 10 + 10


def test_numpy_mlp_trains_on_digits_to_90_percent_and_logs_like_the_frameworks():
    from experiments.config import TrainConfig
    from experiments.train import train

    config = TrainConfig(framework="numpy", arch="mlp", data="digits", epochs=15, lr=0.05,
                         optimizer="sgd", quiet=True).validate()
    summary = train(config, progress=lambda *a: None)
    assert summary["test/acc"] >= 0.90, summary
    (run,) = mlflow_runs("digits")
    assert run.info.status == "FINISHED"
    assert run.data.params["framework"] == "numpy" and run.data.params["optimizer"] == "sgd"
    assert {"train/loss", "train/acc", "val/loss", "val/acc", "test/acc", "test/loss"} <= set(run.data.metrics)
    assert set(run.data.params) == set(TrainConfig(framework="torch", data="digits").validate().params()) | {"n_params"}


@pytest.mark.parametrize("args, message", [
    (["train", "--framework", "numpy", "--arch", "lenet5"], "lenet5 has no NumPy implementation; "
                                                             "--framework numpy supports: mlp"),
    (["train", "--framework", "numpy", "--arch", "mlp", "--optimizer", "adam"], "pass --optimizer sgd"),
    (["activations", "--activations", "relu,swish"], "unknown activation 'swish'; valid: sigmoid, tanh, "
                                                      "relu, leaky_relu, softmax, gelu, elu, silu, linear"),
    (["experiment", "vanishing-gradients", "--activations", "softplus"], "unknown activation 'softplus'; "
                                                                          "valid: sigmoid, tanh"),
    (["experiment", "linear-collapse", "--data", "spirals"], "valid: moons, circles"),
])
def test_fundamentals_bad_input_is_one_line_and_exit_2(args, message):
    done = run_cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert mlflow_runs() == []


def test_activation_derivatives_from_torch_and_tensorflow_agree():
    from experiments.fundamentals.activations import PLOTTED, activation_curves

    curves = activation_curves(points=101)
    assert set(curves) == set(PLOTTED) and "softmax" in curves
    for name, c in curves.items():
        assert c["max_diff_value"] <= 1e-5 and c["max_diff_derivative"] <= 1e-5, name
    middle = 50  # x = 0
    assert curves["sigmoid"]["torch"][1][middle] == pytest.approx(0.25)
    assert curves["tanh"]["keras"][1][middle] == pytest.approx(1.0)
    assert curves["softmax"]["keras"][1][middle] == pytest.approx(2 / 9)  # p (1 - p), p = 1/3
    assert curves["relu"]["torch"][1][0] == 0 and curves["relu"]["torch"][1][-1] == 1


def _artifacts(run_id: str) -> set[str]:
    import mlflow

    from experiments.tracking import tracking_uri

    client = mlflow.MlflowClient(tracking_uri())
    found = set()
    for entry in client.list_artifacts(run_id):
        children = client.list_artifacts(run_id, entry.path) if entry.is_dir else [entry]
        found |= {c.path for c in children}
    return found


def test_activations_command_writes_the_plot_and_logs_it(lab_dir):
    from experiments.cli import main

    assert main(["activations", "--out", "figs"]) == 0
    assert (lab_dir / "figs" / "activations.png").read_bytes()[:4] == b"\x89PNG"
    assert set(json.loads((lab_dir / "figs" / "activations.json").read_text())) >= {"softmax", "gelu"}
    (run,) = mlflow_runs("fundamentals")
    assert {"plots/activations.png", "activations.json"} <= _artifacts(run.info.run_id)


def test_sigmoid_gradients_vanish_toward_the_input_and_relus_do_not(lab_dir, capsys):
    from experiments.cli import main

    assert main(["experiment", "vanishing-gradients", "--depths", "10", "--activations", "sigmoid,relu",
                 "--epochs", "1", "--width", "32", "--out", "figs"]) == 0
    printed = capsys.readouterr().out
    assert "first-layer / last-layer gradient norm" in printed
    records = json.loads((lab_dir / "figs" / "vanishing_gradients.json").read_text())["records"]
    ratio = {(r["activation"], r["framework"]): r["ratio_init"] for r in records}
    for framework in ("torch", "keras"):
        assert ratio[("sigmoid", framework)] < 1e-3  # orders of magnitude smaller at the input side
        assert ratio[("relu", framework)] > 0.1
    assert ratio[("sigmoid", "torch")] == pytest.approx(ratio[("sigmoid", "keras")], rel=1e-3)
    (run,) = mlflow_runs("fundamentals")
    assert {"plots/vanishing_gradients.png", "plots/vanishing_gradients_training.png"} <= \
        _artifacts(run.info.run_id)
    for name in ("vanishing_gradients.png", "vanishing_gradients_training.png"):
        assert (lab_dir / "figs" / name).read_bytes()[:4] == b"\x89PNG"


def test_deep_linear_network_fits_no_better_than_logistic_regression_and_relu_does():
    from experiments.fundamentals.linear_collapse import compare

    results = compare("moons", depth=4, width=32, steps=200)["results"]
    logistic = results["logistic regression"]["test_acc"]
    assert results["mlp depth 4, linear"]["test_acc"] <= logistic + 0.02
    assert results["mlp depth 4, relu"]["test_acc"] >= logistic + 0.05


def test_linear_collapse_command_prints_the_three_accuracies_and_logs_the_plot(lab_dir, capsys):
    from experiments.cli import main

    assert main(["experiment", "linear-collapse", "--depth", "3", "--width", "16", "--steps", "50",
                 "--out", "figs"]) == 0
    printed = capsys.readouterr().out
    assert "logistic regression" in printed and "linear" in printed and "relu" in printed
    (run,) = mlflow_runs("fundamentals")
    assert "plots/linear_collapse.png" in _artifacts(run.info.run_id)


@pytest.mark.parametrize("init, std", [("xavier", (2 / (100 + 200)) ** 0.5), ("he", (2 / 100) ** 0.5)])
def test_mlp_init_option_draws_the_same_distribution_in_both_frameworks(init, std):
    from experiments.parity import parity

    arch = registry.get("mlp")
    torch_net = arch.build("torch", (100,), 10, depth=1, width=200, dropout=0.0, init=init)
    keras_net = arch.build("keras", (100,), 10, depth=1, width=200, dropout=0.0, init=init)
    torch_w = torch_net.hidden[0].linear.weight.detach().numpy()
    keras_w = keras_net.get_layer("hidden.0.linear").kernel.numpy()
    for weights in (torch_w, keras_w):
        assert np.std(weights) == pytest.approx(std, rel=0.05)
    assert not torch_net.hidden[0].linear.bias.detach().numpy().any()
    assert not keras_net.get_layer("hidden.0.linear").bias.numpy().any()
    assert parity("mlp", input_shape=(12,), init=init, dropout=0.0)["max_abs_diff"] <= 1e-5
