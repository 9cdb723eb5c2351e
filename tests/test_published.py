"""The Fashion-MNIST runs beside the published table: recipes that parse, verdicts that say why."""
import shlex

import pytest
import yaml
from conftest import ROOT

from experiments.cli import build_parser, main
from experiments.published import PUBLISHED, comparison_markdown, comparison_rows
from experiments.report import collect, pipeline_runs

FASHION = ROOT / "pipelines" / "fashion_mnist"


def run_row(arch, framework, acc, minutes=10.0):
    return {"arch": arch, "framework": framework, "data": "fashion_mnist", "test_acc": acc,
            "train_time_s": minutes * 60}


def test_every_fashion_run_is_its_frameworks_twin_of_a_recipe_train_accepts():
    params = yaml.safe_load((FASHION / "params.yaml").read_text())
    parser, _ = build_parser()
    published = {ref.arch for ref in PUBLISHED["fashion_mnist"]}
    for key, run in params["runs"].items():
        args = parser.parse_args(["train", "--framework", run["framework"], *shlex.split(run["recipe"]),
                                  "--seed", str(run["seed"]), "--data", "fashion_mnist"])
        assert key == f"{args.framework}-{args.arch}" + (f"-seed{args.seed}" if args.seed else "")
        assert args.arch in published, f"{key}: no published row to compare it with"
    twins = {}
    for key in params["runs"]:
        framework, arch = key.split("-")[:2]
        twins.setdefault(arch, set()).add(framework)
    assert all(fws == {"torch", "keras"} for fws in twins.values()), twins  # every row in both


def test_verdicts_name_what_keeps_a_row_from_its_target():
    runs = [run_row("mlp", "torch", 0.890), run_row("mlp", "keras", 0.888),          # met
            run_row("lenet5", "torch", 0.911), run_row("lenet5", "keras", 0.900),    # keras low, gap
            run_row("alexnet", "torch", 0.925), run_row("alexnet", "keras", 0.923, minutes=80),
            run_row("resnet20", "torch", 0.950)]                                     # keras missing
    rows = {r["arch"]: r for r in comparison_rows("fashion_mnist", runs)}
    assert rows["mlp"]["verdict"] == "met" and rows["mlp"]["gap"] == pytest.approx(0.002)
    assert rows["lenet5"]["verdict"] == "keras below 0.905; |torch - keras| > 0.005"
    assert rows["alexnet"]["verdict"] == "keras over 75 min"
    assert rows["resnet20"]["verdict"] == "not run in keras" and rows["resnet20"]["keras"] is None
    assert rows["densenet_bc40"]["verdict"] == "not run" and rows["densenet_bc40"]["torch"] is None
    table = comparison_markdown("fashion_mnist", list(rows.values()))
    assert "| mlp | MLP 256-128-100 | 0.883 | 0.885 | 0.8900 | 0.8880 | 0.0020 | 10.0 | 10.0 | met |" in table


def test_two_seeds_of_a_twin_are_compared_by_their_mean():
    runs = [run_row("lenet5", "torch", 0.910), run_row("lenet5", "torch", 0.906),
            run_row("lenet5", "keras", 0.907)]
    row = comparison_rows("fashion_mnist", runs)[1]
    assert row["arch"] == "lenet5" and row["torch"] == pytest.approx(0.908)
    assert row["gap"] == pytest.approx(0.001) and row["verdict"] == "met"


def test_the_report_lists_the_runs_of_a_runs_params_file_only(tmp_path):
    import json

    params = tmp_path / "params.yaml"
    params.write_text("runs:\n  torch-mlp: {framework: torch, recipe: --arch mlp}\n")
    assert pipeline_runs(params) == {"torch-mlp"}
    for name in ("torch-mlp", "torch-dropped"):
        (tmp_path / f"{name}.json").write_text(json.dumps(
            {"n_params": 10, "test/acc": 0.9, "train_time_s": 1.0}))
        (tmp_path / f"{name}.info.json").write_text(json.dumps(
            {"arch": name.split("-")[1], "framework": "torch", "data": "fashion_mnist", "run_id": "r"}))
    assert [r["arch"] for r in collect(tmp_path, params)] == ["mlp"]


def test_an_unknown_published_table_is_one_line_and_exit_2(capsys):
    assert main(["report", "--published", "imagenet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "imagenet" in err and "fashion_mnist" in err
