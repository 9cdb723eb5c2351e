"""A study's training recipe and hardware (`nnlab tune --weight-decay ... --precision ...`): the
flags of `nnlab train`, checked the same way before the study starts, applied to every trial,
recorded in the study, searched with `--search`, and refitted by `nnlab best`."""
from pathlib import Path

import pytest
from conftest import mlflow_runs

from experiments import cli, hardware
from experiments.cli import main

TINY = ["--data", "digits", "--archs", "mlp", "--frameworks", "torch", "--epochs", "1", "--limit-batches", "2",
        "--quiet"]


def nnlab(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def load(study: str):
    from experiments.tune.best import load_study

    return load_study(study, None)


def trial_runs(study: str) -> list:
    return [r for r in mlflow_runs("digits") if r.data.tags.get("optuna.study") == study
            and "optuna.trial" in r.data.tags]


def refit_run(study: str):
    [run] = [r for r in mlflow_runs("digits") if r.data.tags.get("refit") == "train+val"
             and r.data.tags.get("optuna.study") == study]
    return run


def test_a_studys_recipe_is_logged_in_every_trial_and_refitted_by_best(capsys):
    recipe = {"weight_decay": "0.0001", "label_smoothing": "0.1", "augment": "crop2,flip", "lr_schedule": "cosine"}
    code, _, err = nnlab(capsys, "tune", "--study", "recipe", "--trials", "2", "--optimizers", "adam,sgd",
                         "--weight-decay", "1e-4", "--label-smoothing", "0.1", "--augment", "crop2,flip",
                         "--lr-schedule", "cosine", *TINY)
    assert code == 0, err
    runs = trial_runs("recipe")
    assert len(runs) == 2
    for run in runs:
        assert run.data.tags["trial.state"] == "COMPLETE"
        assert {k: run.data.params[k] for k in recipe} == recipe
        assert run.data.params["optimizer"] in ("adam", "sgd")
    study = load("recipe")
    assert study.user_attrs["train_settings"] == {"lr_schedule": "cosine", "weight_decay": 1e-4,
                                                  "label_smoothing": 0.1, "augment": "crop2,flip"}
    assert nnlab(capsys, "best", "--study", "recipe", "--quiet")[0] == 0
    refit = refit_run("recipe")
    assert {k: refit.data.params[k] for k in recipe} == recipe
    assert refit.data.params["optimizer"] == study.best_trial.params["optimizer"]
    assert "test/acc" in refit.data.metrics


def test_searched_weight_decay_and_label_smoothing_are_drawn_logged_and_refitted(capsys):
    code, out, err = nnlab(capsys, "tune", "--show-space", "--data", "digits", "--archs", "mlp",
                           "--optimizers", "adam,adamw", "--search", "weight_decay,label_smoothing")
    assert code == 0 and "weight_decay                 float       1e-06 .. 0.01 (log)   (adam trials)" in out
    code, _, err = nnlab(capsys, "tune", "--study", "searched", "--trials", "3", "--sampler", "random",
                         "--optimizers", "adam,adamw", "--search", "weight_decay,label_smoothing", *TINY)
    assert code == 0, err
    study = load("searched")
    by_run = {t.user_attrs["mlflow_run_id"]: t.params for t in study.trials}
    assert {p["optimizer"] for p in by_run.values()} == {"adam", "adamw"}  # (seed 0 draws both)
    for run in trial_runs("searched"):
        params = by_run[run.info.run_id]
        assert 0 <= params["label_smoothing"] <= 0.2
        assert float(run.data.params["label_smoothing"]) == pytest.approx(params["label_smoothing"])
        if params["optimizer"] == "adam":  # coupled L2: drawn in adam trials only
            assert 1e-6 <= params["weight_decay"] <= 1e-2
            assert float(run.data.params["weight_decay"]) == pytest.approx(params["weight_decay"])
        else:
            assert "weight_decay" not in params and "weight_decay" not in run.data.params
    assert nnlab(capsys, "best", "--study", "searched", "--quiet")[0] == 0
    refit, best = refit_run("searched"), study.best_trial.params
    assert float(refit.data.params["label_smoothing"]) == pytest.approx(best["label_smoothing"])
    assert ("weight_decay" in refit.data.params) == ("weight_decay" in best)


BASE = ["tune", "--study", "bad", "--data", "digits", "--archs", "mlp", "--epochs", "1"]


@pytest.mark.parametrize("args, message", [
    (["--label-smoothing", "1.5"], "--label-smoothing must be in [0, 1), got 1.5"),
    (["--weight-decay", "1e-4"], "--weight-decay applies to adam, sgd, rmsprop only and this study searches "
                                 "adam, adamw, sgd, rmsprop: add --optimizers adam,sgd,rmsprop"),
    (["--momentum", "0.8"], "--momentum applies to sgd only"),
    (["--momentum", "1.5", "--optimizers", "sgd"], "--momentum must be in [0, 1), got 1.5"),
    (["--decoupled-weight-decay", "0.1", "--optimizers", "adamw,sgd"], "add --optimizers adamw"),
    (["--augment", "rotate"], "unknown augmentation 'rotate' in --augment rotate"),
    (["--warmup-epochs", "2", "--epochs", "2-5"], "--warmup-epochs must be an integer in [0, epochs) = [0, 2)"),
    (["--lr-schedule", "linear"], "unknown learning-rate schedule 'linear'"),
    (["--optimizers", "lion"], "unknown optimizer 'lion'"),
    (["--search", "momentum"], "--search 'momentum' is not a searchable training setting; valid: weight_decay"),
    (["--search", "weight_decay", "--weight-decay", "1e-4", "--optimizers", "adam"],
     "--weight-decay fixes what --search weight_decay searches"),
    (["--search", "weight_decay", "--optimizers", "adamw"], "--search weight_decay applies to adam, sgd, rmsprop"),
    (["--precision", "64"], "unknown precision '64'; valid: 32, bf16-mixed, 16-mixed"),
    (["--accelerator", "tpu"], "unknown accelerator 'tpu'"),
    (["--precision", "16-mixed", "--accelerator", "cpu"], "--precision 16-mixed needs a GPU"),
])
@pytest.mark.no_store
def test_a_bad_recipe_or_hardware_setting_is_one_line_and_exit_2_before_the_study(capsys, args, message):
    code, _, err = nnlab(capsys, *BASE, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not Path("mlruns").exists()  # refused before the study, its storage or its run exist


def test_augmentation_and_label_smoothing_are_refused_where_they_cannot_apply(capsys):
    code, _, err = nnlab(capsys, "tune", "--study", "bad", "--data", "mnist1d", "--archs", "mlp",
                         "--augment", "flip")
    assert code == 2 and "--augment flip shifts and flips images; mnist1d is sequence data" in err
    code, _, err = nnlab(capsys, "tune", "--study", "bad", "--data", "sunspots", "--archs", "esn",
                         "--search", "label_smoothing")
    assert code == 2 and "--search label_smoothing is for classification; sunspots is forecast data" in err


def test_bf16_on_a_cpu_without_native_bf16_is_refused_as_train_refuses_it_unless_forced(capsys, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_bf16_flags", lambda *a: [])  # a CPU without avx512_bf16/AMX
    code, _, train_err = nnlab(capsys, "train", "--arch", "mlp", "--data", "digits", "--accelerator", "cpu",
                               "--precision", "bf16-mixed")
    assert code == 2 and "would be slower than 32 on this CPU" in train_err
    code, _, err = nnlab(capsys, *BASE, "--frameworks", "torch", "--accelerator", "cpu", "--precision", "bf16-mixed")
    assert code == 2 and err == train_err  # the same line as train's
    code, _, err = nnlab(capsys, "tune", "--study", "bf16", "--trials", "1", "--accelerator", "cpu",
                         "--precision", "bf16-mixed", "--force-precision", *TINY)
    assert code == 0, err
    [run] = trial_runs("bf16")
    assert run.data.params["precision"] == "bf16-mixed" and run.data.params["force_precision"] == "True"
    assert run.data.params["accelerator"] == "cpu" and run.data.tags["trial.state"] == "COMPLETE"
    assert load("bf16").user_attrs["train_settings"] == {"accelerator": "cpu", "precision": "bf16-mixed",
                                                         "force_precision": True}


def test_jobs_workers_get_the_studys_recipe_and_hardware_flags():
    from experiments.commands.tune import names
    from experiments.tune.options import TuneOptions

    settings = {"lr_schedule": "step", "weight_decay": 0.0005, "momentum": 0.8, "nesterov": True,
                "label_smoothing": 0.1, "warmup_epochs": 1, "augment": "crop4,flip", "accelerator": "cpu",
                "precision": "bf16-mixed", "force_precision": True}
    options = TuneOptions(study="s", data="digits", optimizers=["sgd"], settings=settings,
                          search=["label_smoothing"], limit_batches=3)
    args = cli.build_parser()[0].parse_args(options.worker_argv("parent", 1))
    given = {"lr_schedule": args.lr_schedule, **cli.recipe_settings(args), **cli.hardware_settings(args)}
    assert {k: v for k, v in given.items() if v is not None} == settings
    assert (names(args.optimizers, ""), names(args.search, ""), args.limit_batches) == (["sgd"], ["label_smoothing"], 3)


def test_resuming_a_study_with_another_recipe_is_one_line(capsys):
    assert nnlab(capsys, "tune", "--study", "r", "--trials", "1", "--label-smoothing", "0.1", *TINY)[0] == 0
    code, _, err = nnlab(capsys, "tune", "--study", "r", "--trials", "2", *TINY)
    assert code == 2 and err.strip() == ("nnlab: error: study 'r' trains with --label-smoothing 0.1; "
                                         "pass the same, or a new --study name")
