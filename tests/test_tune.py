"""Optuna studies (`nnlab tune`, `nnlab best`): space, MLflow runs, pruning, resuming, workers."""
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from conftest import ROOT, mlflow_runs

from experiments.cli import main

TINY = ["--data", "digits", "--archs", "mlp", "--frameworks", "torch", "--epochs", "1", "--quiet"]


def nnlab(capsys, *args: str) -> tuple[int, str, str]:
    """Run `nnlab ARGS` in this process; return (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def load(study: str, storage: str | None = None):
    from experiments.tune.best import load_study

    return load_study(study, storage)


def study_and_trial_runs(study: str):
    runs = mlflow_runs("digits")
    parent = [r for r in runs if r.data.tags.get("role") == "study" and r.data.tags["optuna.study"] == study]
    assert len(parent) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent[0].info.run_id]
    return parent[0], children


def artifact_names(run_id: str, folder: str | None = None) -> set[str]:
    import mlflow

    from experiments.tracking import tracking_uri

    return {os.path.basename(a.path) for a in mlflow.MlflowClient(tracking_uri()).list_artifacts(run_id, folder)}


def test_show_space_reads_each_architectures_space_from_the_registry(capsys):
    code, out, _ = nnlab(capsys, "tune", "--show-space", "--data", "digits", "--archs", "mlp,lenet5")
    from modules import registry

    assert code == 0
    for name in ("mlp", "lenet5"):
        for key in registry.get(name).space:
            assert f"{name}.{key}" in out
    assert "framework" in out and "torch, keras" in out and "lr" in out and "epochs" in out


@pytest.mark.parametrize("args, message", [
    (["--archs", "mlp,nosuchnet"], "unknown architecture 'nosuchnet'"),
    (["--family", "nosuchfamily"], "the search space is empty"),
    (["--archs", " , "], "--archs is empty"),
    (["--storage", "postgresql://nnlab:secret@127.0.0.1:9/none"], "cannot reach the study storage"),
    (["--objective", "test/acc"], "leaks"),
])
def test_bad_tune_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = nnlab(capsys, "tune", "--study", "bad", "--data", "digits", *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert "secret" not in err  # a storage password is never printed


def test_study_is_a_parent_run_with_one_nested_train_run_per_trial(capsys):
    code, out, _ = nnlab(capsys, "tune", "--study", "s", "--trials", "2", *TINY)
    assert code == 0
    parent, children = study_and_trial_runs("s")
    assert parent.info.status == "FINISHED" and parent.data.tags["mlflow.runName"] == "tune:s"
    assert {"study", "sampler", "pruner", "storage", "objective"} <= set(parent.data.params)
    assert parent.data.params["storage"].endswith("mlruns/optuna.db")
    assert "best/val/acc" in parent.data.metrics and parent.data.tags["best.arch"] == "mlp"
    assert {"trials.csv", "search_space.json"} <= artifact_names(parent.info.run_id)
    assert "optimization_history.png" in artifact_names(parent.info.run_id, "plots")
    assert sorted(int(c.data.tags["optuna.trial"]) for c in children) == [0, 1]
    for child in children:
        assert child.data.tags["trial.state"] == "COMPLETE" and child.info.status == "FINISHED"
        # the same keys as `nnlab train` (tests/test_training.py checks those)
        assert {"framework", "arch", "lr", "batch_size", "optimizer", "n_params", "depth"} <= set(child.data.params)
        assert {"val/acc", "train/loss"} <= set(child.data.metrics)
        assert not any(k.startswith("test/") for k in child.data.metrics)  # only the refit scores test
        trial = child.data.tags["optuna.trial"]
        assert child.data.tags["mlflow.runName"].startswith(f"tune:s#{trial} ")
        assert child.data.tags["nnlab.source"] == "trial"
    study = load("s")
    assert {t.user_attrs["mlflow_run_id"] for t in study.trials} == {c.info.run_id for c in children}


def test_running_the_same_study_again_resumes_it(capsys):
    nnlab(capsys, "tune", "--study", "r", "--trials", "2", *TINY)
    first = [(t.number, t.params) for t in load("r").trials]
    code, out, _ = nnlab(capsys, "tune", "--study", "r", "--trials", "3", *TINY)
    assert code == 0
    trials = load("r").trials
    assert [(t.number, t.params) for t in trials[:2]] == first  # finished trials kept
    assert len(trials) == 3 and trials[2].params != trials[0].params  # the sampler goes on, not over
    parent, children = study_and_trial_runs("r")  # still one study run
    assert len(children) == 3


def test_a_trial_with_an_invalid_combination_fails_with_its_reason_and_the_study_goes_on(capsys):
    # lenet5 needs 28x28 images: forcing 8x8 makes every draw invalid
    code, out, _ = nnlab(capsys, "tune", "--study", "bad-combo", "--data", "digits", "--archs", "lenet5",
                         "--image-size", "8", "--trials", "2", "--epochs", "1", "--quiet")
    assert code == 0
    trials = load("bad-combo").trials
    assert [t.state.name for t in trials] == ["FAIL", "FAIL"]
    assert all("needs images of at least 28x28" in t.user_attrs["fail_reason"] for t in trials)
    # no train run was opened, yet each trial has its FAILED nested run with the reason
    runs = {r.data.tags.get("optuna.trial"): r for r in mlflow_runs("digits") if r.data.tags.get("optuna.trial")}
    assert sorted(runs) == ["0", "1"]
    assert all(r.info.status == "FAILED" and "28x28" in r.data.tags["trial.reason"] for r in runs.values())


def test_a_diverging_trial_fails_with_the_reason_recorded(monkeypatch):
    from experiments.tune.options import TuneOptions
    from experiments.tune.space import SearchSpace
    from experiments.tune.study import run_study
    from modules.registry import Param

    space = SearchSpace.build("digits", archs=["mlp"], frameworks=["torch"], epochs=(2, 2))
    space.shared = {"lr": Param("float", 1e12, 1e13, log=True), "batch_size": Param("categorical", choices=(128,)),
                    "optimizer": Param("categorical", choices=("sgd",))}
    options = TuneOptions(study="nan", data="digits", trials=1, pruner="none", quiet=True)
    run_study(options, space, say=lambda *a: None)
    trial = load("nan").trials[0]
    assert trial.state.name == "FAIL"
    assert trial.user_attrs["fail_reason"].startswith(
        "TrainingDiverged: training diverged at epoch 1: loss nan; lower --lr")
    _, children = study_and_trial_runs("nan")
    assert children[0].info.status == "FAILED" and children[0].data.tags["trial.state"] == "FAIL"


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_pruning_callbacks_stop_training_at_the_pruned_epoch(framework):
    import optuna

    from experiments import tracking
    from experiments.config import TrainConfig
    from experiments.train import train
    from experiments.tune.callbacks import EpochLog, trial_callbacks

    class PruneAtEpoch2(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return trial.last_step is not None and trial.last_step >= 2

    tracking.STATUS_FOR_EXCEPTION[optuna.TrialPruned] = "FINISHED"  # as `run_study` registers it
    study = optuna.create_study(direction="maximize", pruner=PruneAtEpoch2())
    trial, log = study.ask(), EpochLog()
    config = TrainConfig(framework=framework, arch="mlp", data="digits", epochs=4, batch_size=128,
                         quiet=True).validate()
    with pytest.raises(optuna.TrialPruned):
        train(config, progress=lambda *a: None, callbacks=trial_callbacks(framework, trial, "val/acc", log))
    # epochs counted from 1 in the callbacks, Optuna's steps and MLflow's steps alike
    assert log.pruned_epoch == 2 and log.epochs == 2
    assert sorted(study.trials[0].intermediate_values) == [1, 2]
    run = mlflow_runs("digits")[0]
    assert run.info.status == "FINISHED" and "error" not in run.data.tags  # stopped early, not crashed
    client = tracking.client()
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val/acc")] == [1, 2]
    assert "val/acc" in run.data.metrics  # the pruned epoch was logged before the stop


def test_a_pruned_trial_is_recorded_with_its_state_and_epoch(monkeypatch):
    import optuna

    from experiments.tune import study as tune_study
    from experiments.tune.options import TuneOptions
    from experiments.tune.space import SearchSpace

    class PruneAfterFirstTrial(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return trial.number > 0 and trial.last_step is not None and trial.last_step >= 0

    monkeypatch.setattr(tune_study, "make_pruner", lambda name, epochs: PruneAfterFirstTrial())
    space = SearchSpace.build("digits", archs=["mlp"], frameworks=["torch"], epochs=(3, 3))
    tune_study.run_study(TuneOptions(study="p", data="digits", trials=2, quiet=True), space, say=lambda *a: None)
    trials = load("p").trials
    assert [t.state.name for t in trials] == ["COMPLETE", "PRUNED"]
    assert trials[1].user_attrs["pruned_epoch"] == 1 and trials[1].user_attrs["epochs_trained"] == 1
    _, children = study_and_trial_runs("p")
    pruned = next(c for c in children if c.data.tags["optuna.trial"] == "1")
    assert pruned.info.status == "FINISHED" and "error" not in pruned.data.tags  # not a crash
    assert pruned.data.tags["trial.state"] == "PRUNED" and pruned.data.tags["trial.pruned_epoch"] == "1"


def test_multi_objective_study_runs_without_pruning_and_logs_its_pareto_front(capsys):
    code, out, _ = nnlab(capsys, "tune", "--study", "mo", "--trials", "2", "--objective", "val/acc,n_params",
                         "--data", "digits", "--archs", "mlp", "--frameworks", "torch", "--epochs", "1")
    assert code == 0
    assert sum("pruning is off" in line for line in out.splitlines()) == 1
    parent, _ = study_and_trial_runs("mo")
    assert parent.data.params["pruner"] == "none"
    assert "pareto_front" in parent.data.tags and "pareto_front.json" in artifact_names(parent.info.run_id)
    assert "pareto_front.png" in artifact_names(parent.info.run_id, "plots")
    study = load("mo")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert all(t.values[1] > 1000 for t in study.best_trials)  # n_params, from the trial's run


def test_merging_validation_into_train_keeps_a_small_validation_split():
    from datamodules.refit import merge_validation_into_train
    from experiments.config import TrainConfig
    from experiments.train import make_datamodule

    datamodule = make_datamodule(TrainConfig(arch="mlp", data="digits").validate())
    before = {k: len(s) for k, s in datamodule.splits.items()}
    test_x = datamodule.splits["test"].x.copy()
    digest = datamodule.digest
    merge_validation_into_train(datamodule)
    after = {k: len(s) for k, s in datamodule.splits.items()}
    assert after["val"] == 18 and after["train"] == before["train"] + before["val"] - 18
    assert (datamodule.splits["test"].x == test_x).all() and datamodule.digest != digest


def test_best_prints_the_best_trial_and_retrains_it_on_train_plus_val(capsys):
    nnlab(capsys, "tune", "--study", "b", "--trials", "2", *TINY)
    code, out, _ = nnlab(capsys, "best", "--study", "b", "--quiet", "--register", "digits-mlp")
    assert code == 0 and "registered models:/digits-mlp@champion (version 1)" in out
    study = load("b")
    assert f"trial {study.best_trial.number}: val/acc {study.best_value:.4f}" in out
    refit = [r for r in mlflow_runs("digits") if r.data.tags.get("refit") == "train+val"]
    assert len(refit) == 1
    tags = refit[0].data.tags
    assert tags["optuna.study"] == "b" and tags["optuna.best_trial"] == str(study.best_trial.number)
    assert tags["dataset.splits"] == "1419/18/360"  # 1257 train + 162 of the 180 val
    assert "mlflow.parentRunId" not in tags and "test/acc" in refit[0].data.metrics
    parent, _ = study_and_trial_runs("b")
    assert parent.data.tags["refit.run_id"] == refit[0].info.run_id
    from experiments import tracking

    champion = tracking.client().get_model_version_by_alias("digits-mlp", "champion")
    assert champion.tags["optuna.study"] == "b" and champion.tags["run_id"] == refit[0].info.run_id


def test_train_a_trial_and_the_refit_all_split_with_params_yaml_split_seed(capsys, lab_dir):
    """params.yaml's `data.split_seed` reaches every run the lab builds (issue 16: an Optuna trial
    and `nnlab best`'s refit used split seed 0 whatever params.yaml said)."""
    import yaml

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["split_seed"] = 1
    (lab_dir / "params.yaml").write_text(yaml.safe_dump(params))
    assert nnlab(capsys, "train", "--arch", "mlp", "--data", "digits", "--epochs", "1", "--quiet")[0] == 0
    assert nnlab(capsys, "tune", "--study", "seeded", "--trials", "1", "--pruner", "none", *TINY)[0] == 0
    assert nnlab(capsys, "best", "--study", "seeded", "--quiet")[0] == 0
    runs = [r for r in mlflow_runs("digits") if "dataset.test_digest" in r.data.tags]
    kinds = {("refit" if "refit" in r.data.tags else "trial" if "optuna.trial" in r.data.tags else "train")
             for r in runs}
    assert kinds == {"train", "trial", "refit"} and len(runs) == 3
    assert {r.data.params["split_seed"] for r in runs} == {"1"}
    assert len({r.data.tags["dataset.test_digest"] for r in runs}) == 1
    # and split seed 1 is another split than the default's
    from experiments.plan import resolve
    from experiments.train import make_datamodule

    default = make_datamodule(resolve({"arch": "mlp", "data": "digits"}, params_file=None))
    assert default.split_digest("test") != runs[0].data.tags["dataset.test_digest"]


def _popen_tune(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "experiments", "tune", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # two fresh processes; failed once (1 of 3 trials complete after the rerun): see the report
def test_a_study_killed_mid_trial_continues_when_rerun_and_the_killed_trial_fails():
    from optuna.trial import TrialState

    args = ["--study", "k", "--trials", "3", "--data", "digits", "--archs", "mlp", "--frameworks", "torch",
            "--epochs", "3", "--pruner", "none", "--quiet"]
    mlflow_runs()  # create the MLflow store before the worker does
    proc = _popen_tune(*args)
    deadline = time.time() + 300
    killed_number = None
    try:
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.5)
            try:
                trials = load("k").trials
            except Exception:  # noqa: BLE001  (not created yet)
                continue
            running = [t for t in trials if t.state == TrialState.RUNNING]
            if any(t.state == TrialState.COMPLETE for t in trials) and running:
                killed_number = running[0].number
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
    assert killed_number is not None, "the study ended before a trial could be killed"
    assert load("k").trials[killed_number].state == TrialState.RUNNING

    rerun = _popen_tune(*args)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    trials = load("k").trials
    assert trials[killed_number].state == TrialState.FAIL
    assert "died" in trials[killed_number].user_attrs["worker_lost"]
    outcome = [(t.number, t.state.name, t.user_attrs.get("fail_reason")) for t in trials]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3, (outcome, out[-2000:])  # run again
    killed_run = next(r for r in mlflow_runs("digits") if r.data.tags.get("optuna.trial") == str(killed_number))
    assert killed_run.info.status == "FAILED" and killed_run.data.tags["trial.state"] == "FAIL"


@pytest.mark.e2e
@pytest.mark.skipif(not os.environ.get("NNLAB_TEST_POSTGRES_URL"),
                    reason="set NNLAB_TEST_POSTGRES_URL (.ci/run starts PostgreSQL) to run")
def test_two_workers_on_one_postgres_study_run_distinct_trials_each_with_its_run():
    url = os.environ["NNLAB_TEST_POSTGRES_URL"]
    name = f"pg-{uuid.uuid4().hex[:8]}"
    mlflow_runs()  # create the MLflow store before the workers do
    args = ["--study", name, "--storage", url, "--trials", "4", *TINY]
    workers = [_popen_tune(*args) for _ in range(2)]
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
    study = load(name, url)
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers)) >= 4
    assert sum(t.state.name == "COMPLETE" for t in study.trials) >= 4
    runs = {r.info.run_id: r for r in mlflow_runs("digits")}
    for trial in study.trials:
        run = runs[trial.user_attrs["mlflow_run_id"]]
        assert run.data.tags["optuna.trial"] == str(trial.number) and run.data.tags["optuna.study"] == name
    parents = {runs[t.user_attrs["mlflow_run_id"]].data.tags["mlflow.parentRunId"] for t in study.trials}
    assert len(parents) == 1  # both workers nest under the one study run


# --- long runs: the figures the README quotes --------------------------------------------------
@pytest.mark.slow
def test_jobs_2_runs_the_budget_on_a_journal_file_with_two_workers(capsys):
    code, out, _ = nnlab(capsys, "tune", "--study", "j", "--trials", "4", "--jobs", "2", *TINY)
    assert code == 0
    study = load("j")
    assert len(study.trials) >= 4 and all(t.state.name == "COMPLETE" for t in study.trials)
    workers = {t.user_attrs["worker"] for t in study.trials}
    assert len(workers) == 2


@pytest.mark.slow
def test_a_study_over_four_architectures_in_both_frameworks_reaches_97_percent_test_accuracy(capsys):
    code, out, _ = nnlab(capsys, "tune", "--study", "four", "--data", "digits",
                         "--archs", "mlp,lenet5,resnet20,alexnet", "--trials", "14", "--epochs", "5-15")
    assert code == 0
    code, out, _ = nnlab(capsys, "best", "--study", "four", "--quiet")
    refit = next(r for r in mlflow_runs("digits") if r.data.tags.get("refit") == "train+val")
    assert refit.data.metrics["test/acc"] >= 0.97


@pytest.mark.slow
def test_pruning_saves_40_percent_of_epochs_at_a_best_value_within_001(capsys):
    # measured (2026-11-25): unpruned 160 epochs, median 88 (45% fewer), asha 62 (61% fewer); best 0.9833 in all
    common = ["--data", "digits", "--archs", "mlp,lenet5", "--trials", "16", "--epochs", "10", "--seed", "0",
              "--quiet"]
    nnlab(capsys, "tune", "--study", "pruned", "--pruner", "median", *common)
    nnlab(capsys, "tune", "--study", "unpruned", "--pruner", "none", *common)
    from experiments.tune.best import study_figures

    pruned, unpruned = study_figures(load("pruned")), study_figures(load("unpruned"))
    assert pruned["epochs_trained"] <= 0.6 * unpruned["epochs_trained"]
    assert abs(pruned["best_value"] - unpruned["best_value"]) <= 0.01
