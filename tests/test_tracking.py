"""MLflow tracking under faults: concurrent writers, a server that is down."""
import subprocess
import sys

import pytest
from conftest import ROOT, mlflow_runs, run_cli


@pytest.mark.no_store
@pytest.mark.e2e
def test_four_concurrent_trainings_on_the_default_sqlite_store_all_finish_and_log(lab_dir):
    import os

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "experiments", "train", "--arch", "mlp", "--data", "digits",
            "--epochs", "1", "--quiet", "--set", "depth=1"]
    procs = [subprocess.Popen(args + ["--seed", str(i)], cwd=lab_dir, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(4)]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-1500:]
        assert "locked" not in err
    runs = mlflow_runs("digits")
    assert len(runs) == 4 and {r.info.status for r in runs} == {"FINISHED"}
    assert all(len(r.data.metrics) >= 8 for r in runs)


def test_an_unreachable_tracking_server_is_one_line_and_exit_2(lab_dir):
    done = run_cli("train", "--arch", "mlp", "--data", "digits", "--epochs", "1", "--quiet",
                   env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}, cwd=lab_dir)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "cannot reach the MLflow tracking server at http://127.0.0.1:9" in line
    assert not (lab_dir / "metrics.json").exists()
