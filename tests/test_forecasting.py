"""Forecasting: time-series data without leakage, the echo state network in both
frameworks, free-running prediction, and the reservoirpy comparison."""
import json

import numpy as np
import pytest
from conftest import mlflow_runs

import datamodules
from experiments.config import TrainConfig
from experiments.train import train
from modules import backend, registry
from modules.reservoir.spec import RidgeAccumulator, reservoir_matrices

SMALL_ESN = {"units": 60}
SHORT_SERIES = {"length": 700, "horizon": 20}


def setup_data(name: str, **options):
    datamodule = datamodules.create(name, **options)
    datamodule.setup()
    return datamodule


def quick_forecast(framework: str, arch: str = "esn", data: str = "mackey_glass", **kw) -> TrainConfig:
    settings = {"epochs": 1, "batch_size": 128, "hparams": dict(SMALL_ESN) if arch == "esn" else {},
                "data_options": dict(SHORT_SERIES) if data == "mackey_glass" else {}, **kw}
    return TrainConfig(framework=framework, arch=arch, data=data, quiet=True, **settings).validate()


# --- data --------------------------------------------------------------------------------------


def test_normalisation_statistics_are_those_of_the_train_stretch_alone():
    from statsmodels.datasets import sunspots

    raw = sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    dm = setup_data("sunspots")
    stretch = raw[:len(dm.splits["train"]) + dm.window]  # every value a training window sees
    assert dm.mean == pytest.approx(stretch.mean(), rel=1e-12)
    assert dm.std == pytest.approx(stretch.std(), rel=1e-9)
    assert abs(dm.mean - raw.mean()) > 1.0  # the whole series' mean differs: the test could fail
    # standardised targets map back to the raw series, in order, with the same statistics
    y = np.concatenate([dm.splits[s].y[:, 0] for s in ("train", "val", "test")])
    np.testing.assert_allclose(dm.to_series_units(y), raw[dm.window:], atol=1e-3)


def test_test_windows_come_after_train_windows_in_time():
    dm = setup_data("mackey_glass", **SHORT_SERIES)
    series = dm.to_series_units(np.concatenate([dm.splits["train"].x[0, :, 0]] +
                                               [dm.splits[s].y[:, 0] for s in ("train", "val", "test")]))
    n_train, n_val = len(dm.splits["train"]), len(dm.splits["val"])

    def first_index(split):  # where a split's first input window starts in the series
        window = dm.to_series_units(dm.splits[split].x[0, :, 0])
        return next(i for i in range(len(series)) if np.allclose(series[i:i + dm.window], window, atol=1e-5))

    assert first_index("train") == 0
    assert first_index("val") == n_train
    assert first_index("test") == n_train + n_val
    assert n_train + n_val + len(dm.splits["test"]) == SHORT_SERIES["length"] - dm.window


def test_forecast_batches_are_float_windows_and_next_values():
    dm = setup_data("sunspots", window=5)
    x, y = next(iter(dm.train_dataloader()))
    assert tuple(x.shape[1:]) == (5, 1) and tuple(y.shape[1:]) == (1,)
    assert str(y.dtype) == "torch.float32"
    # within the training split, each target is the value that follows its window
    xs, ys = dm.splits["train"].x, dm.splits["train"].y
    np.testing.assert_array_equal(xs[1:, -1, 0], ys[:-1, 0])


def test_persistence_baseline_predicts_each_test_windows_last_value():
    from statsmodels.datasets import sunspots

    from experiments.tasks.forecast.scorer import persistence_nrmse

    raw = sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    dm = setup_data("sunspots")
    n_test = len(dm.splits["test"])
    truth, last = raw[-n_test:], raw[-n_test - 1:-1]  # each test year and the year before it
    expected = np.sqrt(np.mean((last - truth) ** 2)) / truth.std()
    assert persistence_nrmse(dm) == pytest.approx(expected, rel=1e-6)
    assert persistence_nrmse(dm) == pytest.approx(0.6174, abs=1e-4)  # the bar: a forecaster must beat it


def test_classification_targets_stay_integers():
    dm = setup_data("digits")
    assert dm.splits["train"].y.dtype == np.int64


def test_mackey_glass_is_deterministic_and_chaotic_in_the_known_range():
    from datamodules.timeseries import mackey_glass

    a, b = mackey_glass(500), mackey_glass(500)
    np.testing.assert_array_equal(a, b)
    assert 0.2 < a.min() < 0.6 and 1.2 < a.max() < 1.45  # tau=17 attractor's range
    assert a.std() > 0.15  # not decayed to the fixed point


# --- the echo state network --------------------------------------------------------------------


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_esn_reservoir_spectral_radius_equals_the_setting(framework):
    network = registry.get("esn").build(framework, (10, 1), 1, units=80, spectral_radius=0.77, density=0.2)
    if framework == "torch":
        w = network.reservoir.weight.detach().numpy()
        assert not network.reservoir.weight.requires_grad
    else:
        layer = network.get_layer("reservoir")
        w = np.asarray(layer.kernel).T
        assert not layer.trainable_weights
    assert np.max(np.abs(np.linalg.eigvals(w.astype(np.float64)))) == pytest.approx(0.77, abs=1e-5)
    assert 0.1 < np.mean(w != 0) < 0.3  # sparse, about the density asked for


def test_reservoir_matrices_depend_only_on_the_seed():
    a, b, c = (reservoir_matrices(50, 1, 0.9, 0.1, 1.0, seed) for seed in (3, 3, 4))
    np.testing.assert_array_equal(a.w, b.w)
    assert not np.array_equal(a.w, c.w)


def test_ridge_readout_equals_numpys_lstsq_solution():
    rng = np.random.default_rng(0)
    states, targets, ridge = rng.standard_normal((300, 20)), rng.standard_normal((300, 2)), 0.5
    acc = RidgeAccumulator(ridge)
    for part in np.array_split(np.arange(300), 7):  # streamed in uneven batches
        acc.add(states[part], targets[part])
    weights, bias = acc.solve()
    # min |Y - S W - b|^2 + ridge |W|^2 as an ordinary least-squares problem (bias unpenalised)
    design = np.block([[states, np.ones((300, 1))], [np.sqrt(ridge) * np.eye(20), np.zeros((20, 1))]])
    expected = np.linalg.lstsq(design, np.vstack([targets, np.zeros((20, 2))]), rcond=None)[0]
    np.testing.assert_allclose(weights, expected[:-1], atol=1e-10)
    np.testing.assert_allclose(bias, expected[-1], atol=1e-10)
    residual = targets - states @ weights - bias
    assert acc.mean_squared_error(weights, bias) == pytest.approx(np.mean(residual ** 2), rel=1e-9)


def test_esn_fitted_in_torch_gives_the_same_forecasts_in_keras_after_transfer():
    from modules.convert import transfer

    torch = backend.torch()
    dm = setup_data("mackey_glass", **SHORT_SERIES)
    arch = registry.get("esn")
    t_net = arch.build("torch", dm.input_shape, 1, **SMALL_ESN)
    k_net = arch.build("keras", dm.input_shape, 1, **SMALL_ESN)
    acc = RidgeAccumulator(1e-6)
    x, y = dm.splits["train"].x, dm.splits["train"].y
    with torch.no_grad():
        acc.add(t_net.features(torch.from_numpy(x)).numpy(), y)
    t_net.set_readout(*acc.solve())
    transfer(t_net, k_net)
    x_test = dm.splits["test"].x
    with torch.no_grad():
        y_torch = t_net(torch.from_numpy(x_test)).numpy()
    y_keras = np.asarray(k_net(x_test, training=False))
    assert np.max(np.abs(y_torch - y_keras)) <= 1e-4
    assert np.sqrt(np.mean((y_torch - dm.splits["test"].y) ** 2)) < 0.05  # a fitted readout, not zeros


# --- training runs --------------------------------------------------------------------------------


def test_esn_trains_in_both_frameworks_to_the_same_forecasts_and_logs_them():
    import mlflow

    from experiments.tracking import tracking_uri

    summaries = {fw: train(quick_forecast(fw), progress=lambda *a: None) for fw in ("torch", "keras")}
    for summary in summaries.values():
        assert summary["test/nrmse"] < 0.05
        assert 0 < summary["test/free_run_nrmse"] < 1.0
        assert summary["epochs"] == 1
    assert summaries["torch"]["test/nrmse"] == pytest.approx(summaries["keras"]["test/nrmse"], rel=0.02)
    client = mlflow.MlflowClient(tracking_uri())
    runs = {r.info.run_id: r for r in mlflow_runs("mackey_glass")}
    torch_run, keras_run = (runs[s["run_id"]] for s in summaries.values())
    assert set(torch_run.data.metrics) == set(keras_run.data.metrics) >= {
        "train/loss", "val/loss", "test/rmse", "test/nrmse", "test/free_run_nrmse"}
    assert torch_run.data.params["data.horizon"] == "20" and torch_run.data.tags["task"] == "forecast"
    plots = {a.path for a in client.list_artifacts(torch_run.info.run_id, "plots")}
    assert "plots/forecast.png" in plots


def test_gradient_trained_readout_learns_in_both_frameworks():
    from experiments import runners
    from experiments.tasks.forecast.scorer import evaluate
    from experiments.train import make_datamodule

    for framework in ("torch", "keras"):
        config = quick_forecast(framework, epochs=3, lr=0.02, batch_size=32,
                                hparams={**SMALL_ESN, "readout": "gradient"})
        datamodule = make_datamodule(config)
        result = runners.fit(framework, registry.get("esn"), datamodule, config, on_epoch=lambda e, m: None)
        losses = [h["train/loss"] for h in result.history]
        assert len(losses) == 3 and losses[2] < losses[0], (framework, losses)
        nrmse = evaluate(result.test_outputs, datamodule)["test/nrmse"]
        assert nrmse < 0.5, framework  # far better than the mean (ridge does better still)


def test_a_classifier_on_forecast_data_becomes_a_one_output_forecaster():
    for framework in ("torch", "keras"):
        config = quick_forecast(framework, arch="mlp", data="sunspots", epochs=2,
                                hparams={"depth": 1, "width": 8, "dropout": 0.0})
        summary = train(config, progress=lambda *a: None)
        assert summary["n_params"] == 12 * 8 + 8 + 8 * 1 + 1  # one regression output
        assert {"test/rmse", "test/nrmse", "test/free_run_nrmse"} <= set(summary)
    assert {r.data.tags["task"] for r in mlflow_runs("sunspots")} == {"forecast"}


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--data-option", "horizon=5000"], "horizon 5000 is longer than the test split"),
    (["--data-option", "lag=3"], "has no option 'lag'; valid: horizon, length, window"),
    (["--data-option", "window=abc"], "window='abc' must be of type int"),
    (["--data", "digits"], "esn forecasts; digits is classify data"),
    (["--arch", "lenet5", "--data", "sunspots"],
     "lenet5 cannot forecast sunspots: it takes image data such as its default mnist_5k; choose --data cifar10, "
     "digits, fashion_mnist, mnist, mnist_5k (or, to forecast sunspots, --arch esn"),
    (["--arch", "seq2seq", "--data", "mackey_glass"], "choose --data dates (or, to forecast mackey_glass"),
    (["--arch", "han", "--data", "sunspots"], "choose --data documents (or"),
])
@pytest.mark.no_store
def test_bad_forecast_input_is_one_line_and_exit_2(args, message, capsys, lab_dir):
    from experiments.cli import main

    arch = [] if "--arch" in args else ["--arch", "esn"]
    assert main(["train", *arch, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (lab_dir / "mlruns").exists()  # rejected before any run starts


def test_esn_compare_prints_reservoirpy_beside_the_lab(capsys):
    from experiments.cli import main

    assert main(["esn-compare", "--frameworks", "keras", "--set", "units=60", "--data-option", "length=700",
                 "--data-option", "horizon=20", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lab, reference = report["results"]
    assert lab["implementation"] == "nnlab keras" and reference["implementation"].startswith("reservoirpy")
    assert lab["test/nrmse"] < 0.05 and reference["test/nrmse"] < 0.05
    assert reference["fit_time_s"] > 0


# --- targets ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_esn_on_mackey_glass_reaches_nrmse_002_one_step_ahead(framework):
    config = TrainConfig(framework=framework, arch="esn", data="mackey_glass", epochs=1, batch_size=256,
                         quiet=True).validate()
    summary = train(config, progress=lambda *a: None)
    assert summary["test/nrmse"] <= 0.02
    assert summary["test/free_run_nrmse"] <= 0.1  # 84 steps fed back
