"""The mnist1d paper's table (Greydanus 2020): its four networks, its training settings, its
shuffled-positions control; and Jaeger's Mackey-Glass benchmark for the echo state network."""
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

import datamodules
from datamodules.sequences import shuffled_positions
from experiments.commands.zoo import published_key
from experiments.plan import resolve
from modules import registry
from modules.errors import UserError

PAPER_NETWORKS = registry.names(family="mnist1d_paper")


def mnist1d(**options):
    dm = datamodules.create("mnist1d", **options)
    dm.prepare_data()
    dm.setup()
    return dm


def test_the_four_paper_networks_are_registered_with_the_repositorys_parameter_counts():
    from experiments import catalog_view

    counts = {name: catalog_view.cached_counts()[name]["torch"] for name in PAPER_NETWORKS}
    # notebooks/mnist1d-classification.ipynb prints 5210 (ConvBase), 5134 (GRUBase), 15210 (MLPBase)
    assert counts == {"mnist1d_cnn": 5210, "mnist1d_gru": 5134, "mnist1d_linear": 410, "mnist1d_mlp": 15210}


def test_paper_networks_train_with_the_papers_settings_on_all_4000():
    config = resolve({"arch": "mnist1d_cnn", "framework": "keras"}, params_file=None).config
    assert (config.epochs, config.batch_size, config.lr, config.optimizer, config.seed) == (200, 100, 0.01, "adam", 42)
    assert config.data_options == {"val_size": 0, "shuffle_positions": False, "train_size": 0}
    shuffled = resolve({"arch": "mnist1d_gru", "data_options": {"shuffle_positions": "true"}}, params_file=None)
    # added, not replaced
    assert shuffled.config.data_options == {"val_size": 0, "shuffle_positions": True, "train_size": 0}
    other = resolve({"arch": "mnist1d_mlp", "data": "digits"}, params_file=None)  # another dataset: its own options
    assert other.config.data_options == {"train_size": 0}
    study = resolve({"arch": "mnist1d_mlp"}, params_file=None, arch_data_options=False)  # a study chooses on val
    assert study.config.data_options["val_size"] == 400


def test_val_size_0_trains_on_all_4000_and_watches_the_test_split():
    dm = mnist1d(val_size=0)
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [4000, 1000, 1000]
    np.testing.assert_array_equal(dm.splits["val"].x, dm.splits["test"].x)


def test_choosing_on_the_test_split_is_refused():
    with pytest.raises(UserError, match="validation split is the test split"):
        resolve({"arch": "mnist1d_cnn", "select_best": "val/acc"}, params_file=None)
    with pytest.raises(UserError, match=r"val_size must be in \[0, 3999\]"):
        datamodules.create("mnist1d", val_size=4000)


def test_shuffle_positions_applies_one_fixed_permutation_to_every_split_and_keeps_labels():
    plain, shuffled = mnist1d(val_size=0, normalize=False), mnist1d(val_size=0, normalize=False,
                                                                    shuffle_positions=True)
    order = shuffled_positions(40)
    # the repository's notebook: np.random.seed(42); np.random.permutation(40)
    np.testing.assert_array_equal(order, np.random.RandomState(42).permutation(40))
    assert sorted(order) == list(range(40)) and not np.array_equal(order, np.arange(40))
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(shuffled.splits[split].x, plain.splits[split].x[:, order])
        np.testing.assert_array_equal(shuffled.splits[split].y, plain.splits[split].y)


def test_a_flag_option_reads_false_as_false():
    info = datamodules.get_info("mnist1d")
    assert info.with_options({"shuffle_positions": "false"})["shuffle_positions"] is False
    assert info.with_options({"shuffle_positions": "true"})["shuffle_positions"] is True
    with pytest.raises(UserError, match="must be of type bool"):
        info.with_options({"shuffle_positions": "maybe"})


def test_zoo_finds_the_papers_figure_for_the_options_given():
    cnn = registry.get("mnist1d_cnn")
    assert cnn.published[published_key({})] == 0.94
    assert cnn.published[published_key({"shuffle_positions": True})] == 0.56


# --- Jaeger's Mackey-Glass benchmark ------------------------------------------------------------


def small_jaeger(horizon: int) -> list[dict]:
    from experiments.esn_benchmark import Protocol, compare

    hparams = registry.get("esn").hyperparameters({"units": 100}, "jaeger")
    protocol = Protocol(washout=100, train_length=400, horizon=horizon, trials=5, stride=10)
    return compare(hparams, ["torch", "keras"], protocol)


def test_jaeger_protocol_free_runs_on_from_the_teacher_forced_state_in_all_three():
    rows = small_jaeger(horizon=1)
    # one free step from the teacher-forced state is the one-step prediction: as good as the fit
    # (a run restarted from a zero state would be off by the order of the series itself)
    for row in rows:
        assert row["nrmse_horizon"] < 20 * row["train_nrmse"] < 0.05, row
    assert [r["implementation"].split()[0] for r in rows] == ["nnlab", "nnlab", "reservoirpy"]


def test_jaeger_protocol_gives_the_same_error_in_torch_keras_and_reservoirpy():
    rows = small_jaeger(horizon=20)
    errors = [row["nrmse_horizon"] for row in rows]
    assert 0 < min(errors) and max(errors) < 1.1 * min(errors), errors


@pytest.mark.slow
def test_jaeger_benchmark_reaches_nrmse84_1e_3_in_torch_keras_and_reservoirpy():
    result = run_cli("esn-compare", "--protocol", "jaeger", "--json", timeout=3600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout)["results"]
    assert len(rows) == 3 and all(row["nrmse_horizon"] <= 1e-3 for row in rows), rows


# --- the paper's table ----------------------------------------------------------------------------


def paper_test_acc(*args: str) -> float:
    result = run_cli("train", *args, "--quiet", "--metrics-out", "m.json", timeout=3600)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(Path("m.json").read_text())["test/acc"]


# within 2 points of the paper; the MLP of the repository's own notebook reaches 0.657, not 0.68
TARGETS = {"mnist1d_linear": 0.32, "mnist1d_mlp": 0.657, "mnist1d_cnn": 0.94, "mnist1d_gru": 0.91}


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "keras"])
@pytest.mark.parametrize("arch", PAPER_NETWORKS)
def test_paper_network_reaches_the_papers_accuracy_within_2_points(arch, framework):
    assert paper_test_acc("--framework", framework, "--arch", arch) >= TARGETS[arch] - 0.02


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["mnist1d_cnn", "mnist1d_gru"])
def test_shuffled_positions_bring_cnn_and_gru_down_by_a_third(arch):
    acc = paper_test_acc("--framework", "torch", "--arch", arch, "--data-option", "shuffle_positions=true")
    # the paper: 0.56 (CNN), 0.57 (GRU); the repository's notebook ends its shuffled GRU at 0.533 and
    # falling, and the lab's 8,000 steps end it at 0.49-0.53 (docs/benchmarks.md)
    assert 0.45 <= acc <= registry.get(arch).published["shuffle_positions=True"] + 0.03
    assert acc <= TARGETS[arch] - 0.3
