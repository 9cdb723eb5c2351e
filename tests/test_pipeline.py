"""The DVC pipeline, run for real (`dvc repro`) in a temporary copy with tiny parameters."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

DVC = Path(sys.executable).parent / "dvc"
TINY = {"train": {"epochs": 1, "batch_size": 128, "lr": 0.002, "optimizer": "adam", "lr_schedule": "constant",
                  "seed": 0},
        "data": {"split_seed": 0},
        "pipeline": {"datasets": ["mnist_5k", "mnist1d"], "frameworks": ["torch", "keras"], "archs": ["mlp"]},
        "tune": {"study": "tiny", "data": "mnist_5k", "archs": "mlp", "frameworks": "torch", "trials": 2,
                 "sampler": "random", "pruner": "none", "seed": 0, "epochs": 1}}


def copy_project(dest: Path) -> Path:
    """The tracked files (and new, unignored ones) of this checkout, in a fresh git repo."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    for generated in ("metrics", "reports", "dvc.lock"):  # start from a pipeline never run
        target = dest / generated
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        subprocess.run(cmd, cwd=dest, check=True, capture_output=True)
    return dest


def dvc(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{DVC.parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(project), "NNLAB_DATA_DIR": str(project / "data")}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([str(DVC), *args], cwd=project, capture_output=True, text=True, env=env,
                          timeout=1200)


def set_params(project: Path, params: dict) -> None:
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def ran_stages(done: subprocess.CompletedProcess) -> set[str]:
    return {line.split("'")[1] for line in done.stdout.splitlines() if line.startswith("Running stage")}


@pytest.mark.e2e
def test_dvc_repro_runs_the_pipeline_then_reruns_only_what_changed(tmp_path):
    project = copy_project(tmp_path / "project")
    set_params(project, TINY)

    first = dvc(project, "repro")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert ran_stages(first) == {"prepare@mnist_5k", "prepare@mnist1d", "train@torch-mlp", "train@keras-mlp",
                                 "tune", "report"}
    for fw in ("torch", "keras"):
        metrics = json.loads((project / f"metrics/train/{fw}-mlp.json").read_text())
        assert metrics["epochs"] == 1 and 0 <= metrics["test/acc"] <= 1
        assert all(isinstance(v, (int, float)) for v in metrics.values())  # narrow `dvc metrics show`
        info = json.loads((project / f"metrics/train/{fw}-mlp.info.json").read_text())
        assert info["data"] == "mnist1d" and info["framework"] == fw
    prepared = json.loads((project / "metrics/data/mnist_5k.json").read_text())
    assert prepared["splits"] == {"train": 3600, "val": 400, "test": 1000}
    board = (project / "reports/leaderboard.csv").read_text().splitlines()
    assert board[0].startswith("arch,framework") and len(board) == 3
    assert (project / "reports/accuracy_vs_params.png").stat().st_size > 0
    assert (project / "metrics/tune/trials.csv").is_file()
    assert json.loads((project / "metrics/tune/best.json").read_text())["best_value"] is not None

    import mlflow
    client = mlflow.MlflowClient(f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    run_ids = {json.loads((project / f"metrics/train/{fw}-mlp.info.json").read_text())["run_id"]
               for fw in ("torch", "keras")}
    assert run_ids <= {r.info.run_id for r in runs}
    assert all(r.info.status == "FINISHED" for r in runs)
    stage_runs = {r.info.run_name for r in runs if r.data.tags.get("nnlab.source") == "stage"}
    assert stage_runs == {"stage:train@torch-mlp", "stage:train@keras-mlp"}
    # the pipeline's outputs (dvc.lock, metrics/, reports/) leave the commit clean: only the
    # test's own params.yaml edit is listed
    assert {r.data.tags.get("nnlab.git.dirty") for r in runs} == {"params.yaml"}

    again = dvc(project, "repro")
    assert again.returncode == 0 and ran_stages(again) == set()

    shown = dvc(project, "metrics", "show", "--json")
    assert shown.returncode == 0 and "test/acc" in shown.stdout

    changed = {**TINY, "train": {**TINY["train"], "epochs": 2}}
    set_params(project, changed)
    rerun = dvc(project, "repro")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    # the study reads only `tune:`, train.lr_schedule and data.split_seed of params.yaml
    assert ran_stages(rerun) == {"train@torch-mlp", "train@keras-mlp", "report"}

    broken = {**changed, "tune": {**TINY["tune"], "archs": "no_such_net"}}
    set_params(project, broken)
    failed = dvc(project, "repro")
    assert failed.returncode != 0
    assert "unknown architecture 'no_such_net'" in failed.stdout + failed.stderr
    assert (project / "data/prepared/mnist_5k.npz").is_file()  # earlier stages' outputs intact

    set_params(project, changed)
    fixed = dvc(project, "repro")
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert ran_stages(fixed) <= {"tune", "report"} and "tune" in ran_stages(fixed)
