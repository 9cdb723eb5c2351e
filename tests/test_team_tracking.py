"""Team tracking: `nnlab train` and `nnlab tune` log to a shared MLflow server
(PostgreSQL backend store, artifact root) when MLFLOW_TRACKING_URI points at it.
`.ci/run` starts such a server on loopback and exports NNLAB_TEST_MLFLOW_SERVER."""
from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import run_cli

SERVER = os.environ.get("NNLAB_TEST_MLFLOW_SERVER")
pytestmark = pytest.mark.skipif(not SERVER, reason="set NNLAB_TEST_MLFLOW_SERVER (.ci/run starts one) to run")


def server_runs(experiment: str) -> list:
    import mlflow

    client = mlflow.MlflowClient(SERVER)
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id]) if found else []


@pytest.mark.integration
def test_train_and_tune_log_to_the_team_server_with_artifacts():
    experiment = f"team-{uuid.uuid4().hex[:8]}"
    env = {"MLFLOW_TRACKING_URI": SERVER}
    trained = run_cli("train", "--arch", "mlp", "--data", "digits", "--epochs", "1", "--quiet",
                      "--experiment", experiment, env=env)
    assert trained.returncode == 0, trained.stderr[-2000:]
    [run] = server_runs(experiment)
    assert run.info.status == "FINISHED" and "test/acc" in run.data.metrics
    import mlflow

    artifacts = [a.path for a in mlflow.MlflowClient(SERVER).list_artifacts(run.info.run_id, "model")]
    assert artifacts == ["model/model.pt"]

    tuned = run_cli("tune", "--study", experiment, "--trials", "2", "--data", "digits", "--archs", "mlp",
                    "--frameworks", "torch", "--epochs", "1", "--pruner", "none", "--quiet",
                    "--experiment", experiment, env=env)
    assert tuned.returncode == 0, tuned.stderr[-2000:]
    assert len(server_runs(experiment)) >= 1 + 2  # the train run, the trials (and the study's parent)
