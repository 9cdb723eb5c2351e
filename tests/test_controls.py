"""Training controls with one meaning in both frameworks (`experiments.controls`): the best
epoch scored on the test split, early stopping (with resume and inside Optuna trials),
per-epoch learning rates, debug runs and gradient clipping."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import mlflow_runs

from experiments.config import TrainConfig, config_from_logged
from experiments.train import train
from modules.errors import UserError

FRAMEWORKS = ["torch", "keras"]
quiet = lambda *a: None  # noqa: E731


def quick(framework: str, **kw) -> TrainConfig:
    settings = {"epochs": 2, "batch_size": 128, **kw}
    return TrainConfig(framework=framework, arch="mlp", data="digits", quiet=True, **settings).validate()


def metric_history(run_id: str, key: str) -> list[tuple[int, float]]:
    from experiments import tracking

    return sorted((m.step, m.value) for m in tracking.client().get_metric_history(run_id, key))


# --- the metric table and the settings ------------------------------------------------------
def test_one_table_says_which_way_a_metric_improves_for_select_best_and_objectives():
    from experiments.controls import higher_is_better
    from experiments.tune.space import parse_objectives

    for key, higher in (("val/acc", True), ("val/loss", False), ("val/nrmse", False), ("train/acc", True),
                        ("val/mse", False), ("val/f1", True)):
        assert higher_is_better(key) is higher
        assert parse_objectives(key)[0].direction == ("maximize" if higher else "minimize")


def test_early_stop_counts_patience_from_the_last_improvement_by_more_than_min_delta():
    from experiments.controls import EpochWatch

    watch = EpochWatch("val/loss", patience=2, min_delta=0.1)
    improved = [watch.update(epoch, {"val/loss": loss}) for epoch, loss in enumerate([1.0, 0.85, 0.8, 0.79])]
    assert improved == [True, True, False, False]
    assert watch.should_stop and watch.summary() == {"best_epoch": 2, "stopped_epoch": 4}
    acc = EpochWatch("val/acc")
    assert [acc.update(e, {"val/acc": v}) for e, v in enumerate([0.5, 0.7, 0.7, 0.6])] == [True, True, False, False]
    assert acc.summary() == {"best_epoch": 2} and not acc.should_stop


def test_controls_are_logged_params_and_come_back_for_resume_and_evaluate():
    config = quick("torch", select_best="val/acc", early_stop=3, min_delta=0.01, grad_clip=1.5)
    params = {k: str(v) for k, v in config.params().items()}
    assert {"select_best", "early_stop", "min_delta", "grad_clip"} <= set(params)
    back = config_from_logged(params).validate()
    assert (back.select_best, back.early_stop, back.min_delta, back.grad_clip) == ("val/acc", 3, 0.01, 1.5)


@pytest.mark.parametrize("settings, message", [
    ({"select_best": "test/acc"}, "leaks it into the result; use the validation metric"),
    ({"select_best": "acc"}, "not an epoch metric"),
    ({"grad_clip": 0}, "--grad-clip is a maximum gradient norm, a positive number; got 0"),
    ({"grad_clip": -1.0}, "a positive number; got -1.0"),
    ({"min_delta": 0.1}, "add --early-stop PATIENCE"),
    ({"early_stop": 0}, "a positive integer; got 0"),
])
def test_a_bad_control_is_refused_in_one_line(settings, message):
    with pytest.raises(UserError, match=message):
        quick("torch", **settings)


@pytest.mark.parametrize("value", ["0", "-0.5"])
def test_grad_clip_zero_or_negative_on_the_command_line_is_one_line_and_exit_2(value, capsys):
    from experiments.cli import main

    with pytest.raises(SystemExit) as done:
        main(["train", "--arch", "mlp", "--grad-clip", value])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--grad-clip" in err and "must be positive" in err


# --- the best epoch ------------------------------------------------------------------------
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_select_best_scores_the_test_split_with_the_best_epochs_weights(framework):
    # lr 0.1 makes Adam overshoot on digits: the first epoch is the best on val/acc in both
    # frameworks, so the last epoch's weights would give another test score
    best = train(quick(framework, epochs=2, lr=0.1, select_best="val/acc"), progress=quiet)
    curve = [v for _, v in metric_history(best["run_id"], "val/acc")]
    assert best["best_epoch"] == int(np.argmax(curve)) + 1  # the first of equal values; counted from 1
    assert best["best_epoch"] < 2, "the test needs a run whose last epoch is not its best"
    assert metric_history(best["run_id"], "best_epoch") == [(2, best["best_epoch"])]
    stopped_there = train(quick(framework, epochs=best["best_epoch"], lr=0.1), progress=quiet)
    last = train(quick(framework, epochs=2, lr=0.1), progress=quiet)
    assert best["test/loss"] == pytest.approx(stopped_there["test/loss"], abs=1e-6)
    assert best["test/loss"] != pytest.approx(last["test/loss"], abs=1e-6)
    assert "best_epoch" not in last


# --- early stopping -------------------------------------------------------------------------
@pytest.mark.parametrize("framework", [*FRAMEWORKS, "numpy"])
def test_early_stop_ends_the_run_after_patience_epochs_without_improvement(framework):
    # a min_delta no epoch can beat: epoch 1 is the best, epochs 2 and 3 use up the patience
    extra = {"optimizer": "sgd", "lr": 0.05} if framework == "numpy" else {}
    summary = train(quick(framework, epochs=6, early_stop=2, min_delta=100.0, **extra), progress=quiet)
    assert (summary["stopped_epoch"], summary["best_epoch"], summary["epochs"]) == (3, 1, 3)
    assert [s for s, _ in metric_history(summary["run_id"], "val/loss")] == [1, 2, 3]
    run = {r.info.run_id: r for r in mlflow_runs("digits")}[summary["run_id"]]
    assert run.data.params["early_stop"] == "2" and run.data.metrics["stopped_epoch"] == 3


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_early_stop_patience_survives_an_interrupt_and_resume(framework):
    from test_resume import stop_after_epoch

    from experiments import resume

    # and the best epoch's weights: epoch 1 is the best, so the resumed run scores weights
    # that only its checkpoint holds
    config = quick(framework, epochs=6, early_stop=2, min_delta=100.0, select_best="val/loss")
    whole = train(config, progress=quiet)
    with pytest.raises(resume.TrainingInterrupted) as stopped:
        train(config, progress=quiet, callbacks=[stop_after_epoch(framework, last=0)])
    run_id = stopped.value.run_id
    resumed = train(resume.plan_for_resume(run_id, quiet=True), progress=quiet, resume_run_id=run_id)
    # a fresh watch would take epoch 2 as its first best and stop at epoch 4
    assert (resumed["stopped_epoch"], resumed["best_epoch"]) == (whole["stopped_epoch"], whole["best_epoch"]) == (3, 1)
    assert resumed["test/loss"] == pytest.approx(whole["test/loss"], abs=1e-6)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_early_stopping_and_pruning_work_together_in_an_optuna_trial(framework):
    import optuna

    from experiments.tune.callbacks import EpochLog, trial_callbacks

    def objective(trial):
        log = EpochLog()
        summary = train(quick(framework, epochs=6, early_stop=1, min_delta=100.0), progress=quiet,
                        callbacks=trial_callbacks(framework, trial, "val/acc", log))
        trial.set_user_attr("stopped_epoch", summary["stopped_epoch"])
        return summary["test/acc"]

    never = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    never.optimize(objective, n_trials=1)
    trial = never.trials[0]
    assert trial.state.name == "COMPLETE" and trial.user_attrs["stopped_epoch"] == 2
    assert sorted(trial.intermediate_values) == [1, 2]  # reported each epoch it trained (from 1)
    always = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0))
    always.optimize(objective, n_trials=1)
    assert always.trials[0].state.name == "PRUNED" and sorted(always.trials[0].intermediate_values) == [1]


def test_tune_early_stop_reaches_every_trials_plan_and_every_worker():
    import optuna

    from experiments.tune.options import TuneOptions
    from experiments.tune.space import SearchSpace

    space = SearchSpace.build("digits", archs=["mlp"], frameworks=["torch"], epochs=(3, 3),
                              controls={"early_stop": 2, "min_delta": 0.01})
    draw = {"framework": "torch", "arch": "mlp", "lr": 0.001, "batch_size": 64, "optimizer": "adam",
            **{f"mlp.{k}": v for k, v in {"depth": 2, "width": 64, "activation": "relu", "dropout": 0.1,
                                          "init": "default"}.items()}}
    config = space.suggest_plan(optuna.trial.FixedTrial(draw), "digits").config
    assert (config.early_stop, config.min_delta) == (2, 0.01)
    argv = TuneOptions(study="s", data="digits", early_stop=2, min_delta=0.01).worker_argv("run", 1)
    assert argv[argv.index("--early-stop") + 1] == "2" and argv[argv.index("--min-delta") + 1] == "0.01"
    with pytest.raises(UserError, match="add --early-stop PATIENCE"):
        TuneOptions(study="s", data="digits", min_delta=0.01)


# --- learning rates -------------------------------------------------------------------------
def test_both_frameworks_log_the_same_per_epoch_learning_rate_of_a_cosine_schedule():
    from modules.optim import lr_factor

    curves = {}
    for framework in FRAMEWORKS:
        summary = train(quick(framework, epochs=3, lr=0.01, lr_schedule="cosine"), progress=quiet)
        curves[framework] = metric_history(summary["run_id"], "train/lr")
    steps, total = 10, 3 * 10  # ceil(1,257 / 128) steps an epoch
    expected = [(epoch, 0.01 * lr_factor("cosine", epoch * steps, total)) for epoch in range(3)]
    for framework in FRAMEWORKS:
        assert [s for s, _ in curves[framework]] == [1, 2, 3]  # epochs counted from 1
        assert [v for _, v in curves[framework]] == pytest.approx([v for _, v in expected], rel=1e-5)


def test_a_gan_logs_each_optimizers_learning_rate_under_the_same_names_in_both_frameworks():
    names = {}
    for framework in FRAMEWORKS:
        config = TrainConfig(framework=framework, arch="dcgan", epochs=1, batch_size=64, quiet=True,
                             limit_batches=2).validate()
        summary = train(config, progress=quiet, plots=False)
        run = {r.info.run_id: r for r in mlflow_runs()}[summary["run_id"]]
        names[framework] = {k: v for k, v in run.data.metrics.items() if k.startswith("train/lr")}
    for framework in FRAMEWORKS:  # Keras holds the rate in float32
        assert names[framework] == pytest.approx({"train/lr_discriminator": config.lr,
                                                  "train/lr_generator": config.lr}, rel=1e-6)


# --- debug runs -----------------------------------------------------------------------------
def train_batches_seen(framework: str) -> tuple[list, object]:
    """(a list that a fit appends each training batch's epoch to, the callback that does so)."""
    seen = []
    if framework == "torch":
        from experiments.runners.torch_runner import Callback

        class Count(Callback):
            def on_train_batch_start(self, loop, task, batch, batch_idx):
                seen.append(loop.current_epoch)
        return seen, Count()
    from modules import backend

    keras = backend.keras()

    class CountKeras(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            seen.append(self.epoch)
    return seen, CountKeras()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_fast_dev_run_trains_one_batch_and_logs_nothing(framework, lab_dir):
    from experiments.cli import main

    seen, count = train_batches_seen(framework)
    summary = train(quick(framework, epochs=5, fast_dev_run=True), progress=quiet, callbacks=[count])
    assert seen == [0] and summary["fast_dev_run"] and summary["epochs"] == 1 and "test/acc" in summary
    assert main(["train", "--framework", framework, "--arch", "mlp", "--data", "digits", "--fast-dev-run",
                 "--quiet", "--metrics-out", "m.json"]) == 0
    assert not (lab_dir / "m.json").exists()
    assert mlflow_runs() == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_limit_batches_caps_every_split_of_every_epoch(framework):
    from experiments.train import make_datamodule

    config = quick(framework, batch_size=32, limit_batches=3)
    sizes = {split: len(part) for split, part in make_datamodule(config).splits.items()}
    assert sizes == {"train": 96, "val": 96, "test": 96}
    seen, count = train_batches_seen(framework)
    summary = train(config, progress=quiet, callbacks=[count])
    assert seen == [0, 0, 0, 1, 1, 1]
    run = {r.info.run_id: r for r in mlflow_runs("digits")}[summary["run_id"]]
    assert run.data.params["limit_batches"] == "3" and run.data.tags["dataset.splits"] == "96/96/96"


# --- gradient clipping ------------------------------------------------------------------------
class SameStart:
    """`arch` whose torch builds all start from one state dict and whose Keras builds get those
    weights through `modules.convert`: both frameworks' fits start from the same point."""

    def __init__(self, arch, state: dict) -> None:
        self.arch, self.state = arch, state

    def __getattr__(self, name):
        return getattr(self.arch, name)

    def build(self, framework, input_shape, num_classes, **hparams):
        from modules.convert import transfer

        torch_net = self.arch.build("torch", input_shape, num_classes, **hparams)
        torch_net.load_state_dict(self.state)
        if framework == "torch":
            return torch_net
        keras_net = self.arch.build("keras", input_shape, num_classes, **hparams)
        transfer(torch_net, keras_net)
        return keras_net


def one_clipped_step(framework: str, grad_clip: float | None):
    """(the network after one SGD step on one batch of 256 from the shared start, the datamodule)."""
    from experiments import runners
    from experiments.train import make_datamodule
    from modules import backend, registry

    backend.torch().manual_seed(0)
    config = quick(framework, epochs=1, batch_size=256, limit_batches=1, optimizer="sgd", lr=0.5,
                   grad_clip=grad_clip, hparams={"dropout": 0.0})
    datamodule = make_datamodule(config)
    arch = registry.get("mlp")
    start = arch.build("torch", datamodule.input_shape, datamodule.num_classes, **config.hparams).state_dict()
    result = runners.fit(framework, SameStart(arch, start), datamodule, config, on_epoch=lambda *a: None)
    return result.model, datamodule


def test_one_clipped_step_gives_the_same_weights_in_both_frameworks():
    # torch clips with clip_grad_norm_, Keras with the optimizer's global_clipnorm: the same
    # global norm over all parameters gives the same scaled step
    from modules import backend, registry
    from modules.convert import transfer

    (torch_net, datamodule), (keras_net, _) = one_clipped_step("torch", 0.05), one_clipped_step("keras", 0.05)
    expected = registry.get("mlp").build("keras", datamodule.input_shape, datamodule.num_classes, dropout=0.0)
    transfer(torch_net, expected)
    for want, got in zip(expected.weights, keras_net.weights, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=2e-6)
    unclipped, _ = one_clipped_step("torch", None)
    torch = backend.torch()
    step_gap = max(float(torch.max(torch.abs(a - b))) for a, b in
                   zip(unclipped.state_dict().values(), torch_net.state_dict().values()))
    assert step_gap > 1e-3, "clipping was active: without it the step is much larger"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_closed_form_readout_selects_and_stops_as_a_gradient_fit_does(framework):
    # the echo state network solves its readout each epoch (no optimizer, so no train/lr)
    from test_forecasting import quick_forecast

    summary = train(quick_forecast(framework, epochs=5, select_best="val/loss", early_stop=1, min_delta=100.0),
                    progress=quiet, plots=False)
    assert (summary["best_epoch"], summary["stopped_epoch"], summary["epochs"]) == (1, 2, 2)
    run = {r.info.run_id: r for r in mlflow_runs()}[summary["run_id"]]
    assert not [k for k in run.data.metrics if k.startswith("train/lr")]


def test_numpy_clips_a_step_by_torchs_global_norm_rule():
    from experiments.train import make_datamodule
    from modules import backend, registry
    from modules.feedforward.numpy_net import mlp
    from modules.toolkit.numpy_optim import SGD

    torch = backend.torch()
    config = quick("numpy", batch_size=256, optimizer="sgd", lr=0.5, grad_clip=0.05, hparams={"dropout": 0.0})
    x, y = (a[:256] for a in make_datamodule(config).arrays("train"))
    torch_net = registry.get("mlp").build("torch", x.shape[1:], 10, **config.hparams)
    numpy_net = mlp(x.shape[1:], 10, **config.hparams)
    numpy_net.load_state_dict({k: v.detach().numpy() for k, v in torch_net.state_dict().items()})
    loss = torch.nn.functional.cross_entropy(torch_net(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(torch_net.parameters(), config.grad_clip)
    torch.optim.SGD(torch_net.parameters(), config.lr, momentum=0.9).step()
    _, _, grads = numpy_net.loss_and_gradients(x, y, training=True)
    SGD(numpy_net.parameters(), config.lr, grad_clip=config.grad_clip).step(grads)
    for key, value in torch_net.state_dict().items():
        np.testing.assert_allclose(numpy_net.state_dict()[key], value.detach().numpy(), atol=2e-6)
