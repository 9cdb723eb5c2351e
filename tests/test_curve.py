"""`nnlab curve`: a learning curve is ordinary runs under one parent, written as CSV, markdown
and PNG with real numbers; a bad size is one line, exit 2, before any run is made."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from experiments import cli
from tests.conftest import mlflow_runs

TINY = ["curve", "--arch", "mlp", "--data", "digits", "--frameworks", "torch", "--epochs", "1",
        "--limit-batches", "2", "--out", "curves"]


def run_in_process(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def test_a_curve_writes_csv_table_and_plot_of_runs_nested_under_one_parent(lab_dir, capsys):
    code, out, err = run_in_process([*TINY, "--train-sizes", "40,20", "--seeds", "0,1"], capsys)
    assert code == 0, err
    with open(lab_dir / "curves/digits-mlp.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["framework"], int(r["train_size"]), r["seeds"]) for r in rows] == [
        ("torch", 20, "0 1"), ("torch", 40, "0 1")]
    for r in rows:
        low, mean, high = float(r["test_acc_min"]), float(r["test_acc_mean"]), float(r["test_acc_max"])
        assert 0 < low <= mean <= high <= 1
        assert len(r["run_ids"].split()) == 2
    table = (lab_dir / "curves/digits-mlp.md").read_text()
    assert "| training images | torch |" in table and "| 20 |" in table and "| 40 |" in table
    assert table.splitlines()[-1].split("|")[1].strip() == "40"
    assert "| 40 |" in out  # the table is printed too
    assert (lab_dir / "curves/digits-mlp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    runs = mlflow_runs("digits")
    parent = next(r for r in runs if r.data.tags.get("nnlab.source") == "curve"
                  and "mlflow.parentRunId" not in r.data.tags)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted((r.data.params["data.train_size"], r.data.params["seed"]) for r in children) == [
        ("20", "0"), ("20", "1"), ("40", "0"), ("40", "1")]
    assert {r.info.status for r in [parent, *children]} == {"FINISHED"}
    assert all(r.data.tags["nnlab.curve"] == "digits-mlp" for r in children)
    assert {r.info.run_id for r in children} == {i for r in rows for i in r["run_ids"].split()}
    import mlflow

    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(parent.info.run_id, "curve")}
    assert artifacts == {"curve/digits-mlp.csv", "curve/digits-mlp.md", "curve/digits-mlp.png"}


@pytest.mark.parametrize("extra,message", [
    (["--train-sizes", "20,5000"], "train_size=5000"),  # larger than digits' 1,257-image train split
    (["--train-sizes", "5,20"], "train_size=5"),  # fewer than the 10 classes
    (["--train-sizes", "20", "--frameworks", "torch,jax"], "jax"),
    (["--train-sizes", "20", "--frameworks", ","], "--frameworks is empty"),
    (["--train-sizes", "20", "--data-option", "train_size=30"], "--train-sizes"),
], ids=["above the split", "below the classes", "unknown framework", "no framework", "train_size twice"])
@pytest.mark.no_store
def test_a_bad_curve_is_one_line_and_exit_2_before_any_run(lab_dir, capsys, extra, message):
    code, _, err = run_in_process([*TINY, *extra], capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], err
    assert not Path("mlruns/mlflow.db").exists() or not mlflow_runs()  # nothing trained, no parent either
    assert not Path("curves").exists()


@pytest.mark.parametrize("sizes", ["", "1000,,2000", "0,1000", "1k"])
def test_a_malformed_size_list_is_refused_at_parse_time(capsys, sizes):
    with pytest.raises(SystemExit) as stop:
        cli.build_parser()[0].parse_args([*TINY, "--train-sizes", sizes])
    assert stop.value.code == 2
    assert "--train-sizes" in capsys.readouterr().err


def test_the_table_shows_mean_and_min_max_over_seeds_and_the_mean_alone_for_one_seed():
    from experiments.curve import markdown, summarize

    points = [{"framework": f, "train_size": n, "seed": s, "test/acc": acc, "train_time_s": 1.0, "run_id": "r"}
              for f, n, s, acc in (("keras", 100, 0, 0.5), ("torch", 100, 0, 0.6), ("torch", 100, 1, 0.7),
                                   ("torch", 200, 0, 0.8))]
    table = markdown(summarize(points), "t").splitlines()
    assert table[-4:] == ["| training images | torch | keras |", "|---:|---:|---:|",
                          "| 100 | 0.6500 (0.6000-0.7000) | 0.5000 |", "| 200 | 0.8000 |  |"]
