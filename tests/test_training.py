"""Training in both frameworks: targets, tracking, reproducibility, one process for both."""
import json
import textwrap

import pytest
from conftest import ROOT, mlflow_runs

from experiments.config import TrainConfig
from experiments.train import train

EXPECTED_PARAMS = {"framework", "arch", "data", "epochs", "batch_size", "lr", "optimizer", "seed", "n_params"}
EXPECTED_METRICS = {"train/loss", "train/acc", "val/loss", "val/acc", "test/acc", "test/loss",
                    "train_time_s", "samples_per_s"}


def quick(framework: str, arch: str = "mlp", data: str = "digits", **kw) -> TrainConfig:
    return TrainConfig(framework=framework, arch=arch, data=data, quiet=True,
                       **{"epochs": 2, "batch_size": 128, **kw}).validate()


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_lenet5_on_digits_28_reaches_95_percent_in_10_epochs(framework, lab_dir):
    config = TrainConfig(framework=framework, arch="lenet5", data="digits", image_size=28,
                         epochs=10, quiet=True).validate()
    summary = train(config, metrics_out=lab_dir / "m.json", progress=lambda *a: None)
    assert summary["test/acc"] >= 0.95
    written = json.loads((lab_dir / "m.json").read_text())
    assert {"test/acc", "test/loss", "n_params", "train_time_s"} <= set(written)
    assert json.loads((lab_dir / "m.info.json").read_text())["run_id"] == summary["run_id"]
    assert written["n_params"] == 61_706


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_mlp_on_mnist1d_reaches_60_percent_with_defaults(framework):
    config = TrainConfig(framework=framework, arch="mlp", data="mnist1d", epochs=20, quiet=True).validate()
    assert train(config, progress=lambda *a: None)["test/acc"] >= 0.60


def test_both_frameworks_log_the_same_param_and_metric_keys():
    summaries = [train(quick(fw), progress=lambda *a: None) for fw in ("torch", "keras")]
    runs = {r.info.run_id: r for r in mlflow_runs("digits")}
    torch_run, keras_run = (runs[s["run_id"]] for s in summaries)
    assert set(torch_run.data.params) == set(keras_run.data.params) >= EXPECTED_PARAMS
    assert set(torch_run.data.metrics) == set(keras_run.data.metrics) >= EXPECTED_METRICS
    for run in (torch_run, keras_run):
        assert run.info.status == "FINISHED"
        assert run.data.tags["dataset.digest"] == summaries[0]["dataset_digest"]
        assert run.data.tags["version.torch"] and run.data.tags["mlflow.source.git.commit"]


def test_epoch_metrics_are_logged_once_per_epoch_with_the_epoch_as_step():
    import mlflow

    from experiments.tracking import tracking_uri

    for framework in ("torch", "keras"):
        summary = train(quick(framework, epochs=3), progress=lambda *a: None)
        history = mlflow.MlflowClient(tracking_uri()).get_metric_history(summary["run_id"], "val/acc")
        assert [m.step for m in history] == [1, 2, 3]  # epochs counted from 1


def test_run_leaves_the_model_and_plots_as_artifacts():
    import mlflow

    from experiments.tracking import tracking_uri

    client = mlflow.MlflowClient(tracking_uri())
    for framework, model_file in (("torch", "model/model.pt"), ("keras", "model/model.keras")):
        run_id = train(quick(framework, epochs=1), progress=lambda *a: None)["run_id"]
        paths = {a.path for folder in ("model", "plots") for a in client.list_artifacts(run_id, folder)}
        assert {model_file, "plots/confusion_matrix.png", "plots/learning_curves.png"} <= paths


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_same_seed_gives_the_same_metrics(framework):
    first = train(quick(framework, seed=5), progress=lambda *a: None)
    second = train(quick(framework, seed=5), progress=lambda *a: None)
    other = train(quick(framework, seed=6), progress=lambda *a: None)
    assert first["test/loss"] == second["test/loss"]
    assert first["test/acc"] == second["test/acc"]
    assert other["test/loss"] != first["test/loss"]


def test_a_run_that_fails_is_marked_failed(lab_dir):
    config = TrainConfig(framework="torch", arch="mlp", data="mnist", data_dir=str(lab_dir / "none"),
                         quiet=True).validate()
    from modules.errors import DataError

    with pytest.raises(DataError):
        train(config, progress=lambda *a: None)
    [run] = mlflow_runs("mnist")
    assert run.info.status == "FAILED"


def test_an_interrupted_run_is_marked_killed(monkeypatch):
    from experiments import runners

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runners, "fit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(quick("torch"), progress=lambda *a: None)
    [run] = mlflow_runs("digits")
    assert run.info.status == "KILLED"


BOTH_ORDERS = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from experiments.config import TrainConfig
    from experiments.train import train
    for framework in sys.argv[1:]:
        config = TrainConfig(framework=framework, arch="mlp", data="digits", epochs=1, quiet=True).validate()
        print(framework, train(config, progress=lambda *a: None)["test/acc"])
""")


@pytest.mark.integration
@pytest.mark.parametrize("order", [("torch", "keras"), ("keras", "torch")])
def test_one_process_trains_both_frameworks_in_either_order(order, lab_dir):
    import subprocess
    import sys

    script = lab_dir / "both.py"
    script.write_text(BOTH_ORDERS.format(root=str(ROOT)))
    done = subprocess.run([sys.executable, str(script), *order], capture_output=True, text=True,
                          timeout=300, cwd=lab_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line.split()[0] for line in done.stdout.splitlines()] == list(order)


def learning_rates_seen(framework: str, config: TrainConfig) -> list[float]:
    """The learning rate of every optimizer step of a real fit of `config`."""
    from experiments import runners
    from experiments.train import make_datamodule
    from modules import backend, registry

    seen = []
    if framework == "torch":
        from experiments.runners.torch_runner import Callback

        class Record(Callback):
            def on_train_batch_start(self, loop, task, batch, batch_idx):
                seen.append(loop.optimizers[0].param_groups[0]["lr"])
    else:
        keras = backend.keras()

        class Record(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                seen.append(float(self.model.optimizer.learning_rate))
    runners.fit(framework, registry.get(config.arch), make_datamodule(config), config,
                on_epoch=lambda *a: None, callbacks=[Record()])
    return seen


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_cosine_schedule_takes_the_same_learning_rate_at_every_step_in_both_frameworks(framework):
    from modules.optim import lr_factor

    config = quick(framework, lr_schedule="cosine", lr=0.01)
    seen = learning_rates_seen(framework, config)
    total = 2 * 10  # 2 epochs x ceil(1,257 / 128) steps
    assert len(seen) == total
    assert seen == pytest.approx([0.01 * lr_factor("cosine", step, total) for step in range(total)], rel=1e-5)
    assert seen[0] == pytest.approx(0.01) and seen[-1] < 0.0002


def test_an_unknown_lr_schedule_or_one_for_a_gan_is_refused_in_one_line():
    from modules.errors import UserError

    with pytest.raises(UserError, match="unknown learning-rate schedule 'exponential'; valid: constant, cosine, step"):
        quick("torch", lr_schedule="exponential")
    with pytest.raises(UserError, match="a GAN trains at a constant learning rate"):
        TrainConfig(framework="torch", arch="dcgan", lr_schedule="cosine").validate()


def keras_fit_results(feed_from_python: bool, native_data: bool = False) -> tuple[dict, list, list]:
    """(history, final weights, train batches per epoch) of two Keras `fit` epochs of the mlp on digits."""
    import numpy as np

    from experiments.runners.keras_runner import build_task, seed_everything
    from experiments.train import make_datamodule
    from modules import backend, registry

    keras, tf = backend.keras(), backend.tensorflow()
    config = quick("keras")
    datamodule = make_datamodule(config)
    seed_everything(config.seed)
    task = build_task(registry.get("mlp"), datamodule, config)  # fed from Python
    if not feed_from_python:
        task.model.make_train_function(force=True)  # Keras's own, stock
        task.model.make_test_function(force=True)
    batches = []

    class CountBatches(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            batches.append(0)

        def on_train_batch_end(self, batch, logs=None):
            batches[-1] += 1

    if native_data:  # no steps_per_epoch: each epoch ends where the data ends
        train = tf.data.Dataset.from_tensor_slices(datamodule.batch_arrays("train", layout="channels_last")).batch(128)
        fit_args = {}
    else:
        train = datamodule.keras_dataset("train", epochs=2)
        fit_args = {"steps_per_epoch": datamodule.steps_per_epoch("train")}
    history = task.model.fit(train, epochs=2, validation_data=datamodule.keras_dataset("val"),
                             callbacks=[CountBatches()], verbose=0, **fit_args)
    return history.history, [np.asarray(w) for w in task.model.weights], batches


@pytest.mark.parametrize("native_data", [False, True], ids=["datamodule", "native_tf_data"])
def test_keras_fit_fed_from_python_trains_exactly_as_stock_fit(native_data):
    import numpy as np

    stock_history, stock_weights, stock_batches = keras_fit_results(False, native_data)
    history, weights, batches = keras_fit_results(True, native_data)
    assert batches == stock_batches == [10, 10]  # ceil(1,257 / 128) per epoch, epochs kept apart
    assert history == stock_history and set(history) == {"loss", "acc", "val_loss", "val_acc"}
    for ours, theirs in zip(weights, stock_weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)
