"""What MLflow, Optuna and DVC users look at first: run names and sources, the dataset column,
the experiment's view, the git commit, the quiet tune line, parity's verdict."""
from __future__ import annotations

import subprocess
from types import SimpleNamespace

from experiments import tracking


def git(*args: str, cwd) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_pipeline_outputs_leave_the_commit_clean_and_other_changes_are_listed(tmp_path, monkeypatch):
    git("init", "-q", cwd=tmp_path)
    (tmp_path / "dvc.yaml").write_text("stages:\n  s:\n    cmd: x\n    outs:\n      - out/${item}.bin\n")
    for name in ("dvc.lock", "code.py", "reports/leaderboard.md", "out/a.bin"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("1")
    git("add", ".", cwd=tmp_path)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c", cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    for name in ("dvc.lock", "reports/leaderboard.md", "out/a.bin"):  # what `dvc repro` rewrites
        (tmp_path / name).write_text("2")
    tracking.git_state.cache_clear()
    sha, dirty = tracking.git_state()
    assert len(sha) == 40 and dirty == ()
    assert "nnlab.git.dirty" not in tracking.source_tags()
    (tmp_path / "code.py").write_text("2")
    tracking.git_state.cache_clear()
    assert tracking.git_state() == (sha, ("code.py",))
    assert tracking.source_tags()["nnlab.git.dirty"] == "code.py"
    tracking.git_state.cache_clear()


def test_run_names_say_where_a_run_comes_from(monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)
    assert tracking.run_origin("torch-mlp", {}) == ("train:torch-mlp", {"nnlab.source": "command"})
    assert tracking.run_origin("torch-mlp", {"optuna.study": "s", "optuna.trial": 12}) == (
        "tune:s#12 torch-mlp", {"nnlab.source": "trial"})
    assert tracking.run_origin("torch-mlp", {"optuna.study": "s", "optuna.best_trial": 3})[0] == "best:s#3 torch-mlp"
    monkeypatch.setenv("DVC_STAGE", "train@torch-mlp")  # as `dvc repro` sets it for a stage's command
    assert tracking.run_origin("torch-mlp", {}) == ("stage:train@torch-mlp", {"nnlab.source": "stage"})
    assert tracking.source_tags()["nnlab.dvc_stage"] == "train@torch-mlp"


def test_a_run_has_its_name_source_dataset_inputs_and_the_classic_runs_view():
    from conftest import mlflow_runs

    from experiments.config import TrainConfig
    from experiments.train import train

    summary = train(TrainConfig(framework="torch", arch="mlp", data="digits", epochs=1, batch_size=256,
                                quiet=True), progress=lambda *a: None)
    [run] = mlflow_runs("digits")
    assert run.info.run_name == "train:torch-mlp" and run.data.tags["nnlab.source"] == "command"
    assert run.data.tags["mlflow.source.type"] == "LOCAL" and run.data.tags["mlflow.source.name"]
    assert not run.data.tags["mlflow.source.git.commit"].endswith("-dirty")
    inputs = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs}
    assert sorted(inputs) == ["test", "train", "val"]
    assert inputs["train"].name == "digits-train" and len(inputs["train"].digest) == 16
    assert inputs["test"].digest == run.data.tags["dataset.test_digest"]
    client = tracking.client()
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert summary["run_id"] == run.info.run_id


def test_tune_quiet_prints_one_line_with_the_best_value(capsys):
    from experiments import cli

    code = cli.main(["tune", "--study", "q", "--data", "digits", "--archs", "mlp", "--frameworks", "torch",
                     "--trials", "1", "--epochs", "1", "--quiet"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(lines) == 1, lines
    assert lines[0].startswith("study q: best val/acc 0.") and "(trial 0); 1 trials (1 complete)" in lines[0]
    import optuna

    study = optuna.load_study(study_name="q", storage="sqlite:///mlruns/optuna.db")
    assert study.metric_names == ["val/acc"]  # optuna-dashboard's axis label


def test_parity_tolerance_scales_with_the_outputs_and_a_mismatch_exits_1(monkeypatch, capsys):
    from experiments import parity as parity_module
    from experiments.commands import parity as parity_command

    # ResNet-50's logits at 224x224 (scale ~20) differ by ~2e-4: the same network
    assert parity_module.parity_tolerance(20.0) >= 2e-4
    assert parity_module.parity_tolerance(0.0) == parity_module.PARITY_ATOL
    args = SimpleNamespace(arch="mlp", input_shape=(12,), num_classes=3, hparams={}, preset=None, json=False)
    assert parity_command.run(args) == 0 and "same network" in capsys.readouterr().out
    report = parity_module.parity("mlp", input_shape=(12,), num_classes=3)
    monkeypatch.setattr(parity_module, "parity", lambda *a, **k: {**report, "max_abs_diff": 1.0,
                                                                   "same_network": False})
    assert parity_command.run(args) == 1 and "MISMATCH" in capsys.readouterr().out
    assert report["same_network"] and report["max_abs_diff"] <= report["tolerance"]


def test_metrics_files_hold_numbers_and_the_report_ranks_within_each_dataset(lab_dir):
    import json

    from experiments.config import TrainConfig
    from experiments.report import build_report
    from experiments.train import train

    for framework, data in (("torch", "digits"), ("keras", "digits"), ("torch", "mnist1d")):
        config = TrainConfig(framework=framework, arch="mlp", data=data, epochs=2, batch_size=256, quiet=True)
        train(config, metrics_out=lab_dir / f"m/{framework}-mlp-{data}.json", progress=lambda *a: None)
    written = json.loads((lab_dir / "m/torch-mlp-digits.json").read_text())
    assert all(isinstance(v, (int, float)) for v in written.values()) and "test/acc" in written
    info = json.loads((lab_dir / "m/torch-mlp-digits.info.json").read_text())
    assert {"run_id", "framework", "arch", "data", "dataset_digest"} <= set(info)
    summary = build_report(lab_dir / "m", None, lab_dir / "reports")
    assert sorted(summary["test_acc"]) == ["digits", "mnist1d"]  # never averaged across datasets
    assert sorted(summary["test_acc"]["digits"]) == ["keras-mlp-digits", "torch-mlp-digits"]  # by run
    board = (lab_dir / "reports/leaderboard.md").read_text()
    assert "## digits" in board and "## mnist1d" in board and board.count("| 1 |") == 2
    header = (lab_dir / "reports/learning_curves.csv").read_text().splitlines()
    assert header[0] == "epoch,keras-mlp-digits,torch-mlp-digits,torch-mlp-mnist1d"
    assert [line.split(",")[0] for line in header[1:]] == ["1", "2"]  # epochs counted from 1
