"""Team tracking: `nnlab train` and `nnlab tune` log to a shared MLflow server (MLflow's basic-auth
app, PostgreSQL backend store, artifact root) when MLFLOW_TRACKING_URI points at it and
MLFLOW_TRACKING_USERNAME/PASSWORD hold a user's credentials. `.ci/run` starts such a server on
loopback and exports NNLAB_TEST_MLFLOW_SERVER, NNLAB_TEST_MLFLOW_USERNAME and _PASSWORD.

Credentials stay out of what others can read: MLflow params and tags, nnlab's output, and the
argv of the worker processes `nnlab tune --jobs` starts."""
from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest

from tests.conftest import run_cli

SERVER = os.environ.get("NNLAB_TEST_MLFLOW_SERVER")
USER = os.environ.get("NNLAB_TEST_MLFLOW_USERNAME")
PASSWORD = os.environ.get("NNLAB_TEST_MLFLOW_PASSWORD")
needs_server = pytest.mark.skipif(not (SERVER and USER and PASSWORD),
                                  reason="set NNLAB_TEST_MLFLOW_SERVER, _USERNAME, _PASSWORD (.ci/run starts one)")
CREDENTIALS = {"MLFLOW_TRACKING_USERNAME": USER or "", "MLFLOW_TRACKING_PASSWORD": PASSWORD or ""}


def server_runs(experiment: str) -> list:
    import mlflow

    client = mlflow.MlflowClient(SERVER)
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id]) if found else []


def logged_text(run) -> str:
    """Every param and tag of a run, as one string to search."""
    return " ".join(f"{k}={v}" for k, v in {**run.data.params, **run.data.tags}.items())


@pytest.mark.e2e
@needs_server
def test_the_team_server_refuses_a_request_without_credentials():
    url = f"{SERVER}/api/2.0/mlflow/experiments/search?max_results=1"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=30)
    assert refused.value.code == 401
    anonymous = run_cli("train", "--arch", "mlp", "--data", "digits", "--epochs", "1", "--quiet",
                        env={"MLFLOW_TRACKING_URI": SERVER, "MLFLOW_TRACKING_USERNAME": "",
                             "MLFLOW_TRACKING_PASSWORD": ""})
    assert anonymous.returncode == 2
    assert "refused the credentials (HTTP 401); set MLFLOW_TRACKING_USERNAME" in anonymous.stderr


@pytest.mark.e2e
@needs_server
def test_train_and_tune_log_to_the_team_server_with_credentials_from_the_environment(monkeypatch):
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)  # for this process's client, as for nnlab's
    experiment = f"team-{uuid.uuid4().hex[:8]}"
    env = {"MLFLOW_TRACKING_URI": SERVER, **CREDENTIALS}
    trained = run_cli("train", "--arch", "mlp", "--data", "digits", "--epochs", "1",
                      "--experiment", experiment, env=env)
    assert trained.returncode == 0, trained.stderr[-2000:]
    [run] = server_runs(experiment)
    assert run.info.status == "FINISHED" and "test/acc" in run.data.metrics
    import mlflow

    artifacts = [a.path for a in mlflow.MlflowClient(SERVER).list_artifacts(run.info.run_id, "model")]
    assert artifacts == ["model/model.pt"]

    tuned = run_cli("tune", "--study", experiment, "--trials", "2", "--data", "digits", "--archs", "mlp",
                    "--frameworks", "torch", "--epochs", "1", "--pruner", "none",
                    "--experiment", experiment, env=env)
    assert tuned.returncode == 0, tuned.stderr[-2000:]
    runs = server_runs(experiment)
    assert len(runs) >= 1 + 2  # the train run, the trials (and the study's parent)
    for result in (trained, tuned):
        assert PASSWORD not in result.stdout + result.stderr
    assert not [r.info.run_id for r in runs if PASSWORD in logged_text(r)]


# --- `nnlab tune --jobs`: the storage URL reaches the workers through the environment ---------
def test_tune_workers_get_the_storage_url_from_the_environment_not_their_argv(monkeypatch, capsys, lab_dir):
    """The spawn is recorded (argv and environment); then one worker runs in this process with
    that environment, as the real worker would, and finds the study."""
    from experiments.cli import main
    from experiments.tune import workers
    from experiments.tune.options import TuneOptions
    from experiments.tune.storage import WORKER_URL_ENV

    secret_url = "postgresql://lab:pa55word-x@db.example:5432/studies"
    spawned = []

    class Recorded:
        returncode = 0

        def __init__(self, argv, env, **kwargs):
            spawned.append((argv, env))

        def poll(self):
            return 0

    class NoProgress:
        def update(self, study):
            pass

        def close(self):
            pass

    options = TuneOptions(study="s", data="digits", archs=["mlp"], frameworks=["torch"], trials=1,
                          epochs="1", jobs=2, storage=secret_url)
    with monkeypatch.context() as patch:  # subprocess.Popen is everyone's: restored at once
        patch.setattr(workers.subprocess, "Popen", Recorded)
        workers.run_workers(None, options, secret_url, "parent-run", NoProgress())
    assert len(spawned) == 2
    for argv, env in spawned:
        assert not any("pa55word" in arg or "postgresql" in arg for arg in argv), argv
        assert "--storage" not in argv and env[WORKER_URL_ENV] == secret_url

    # a real worker: the study on SQLite, its URL only in the environment
    url = f"sqlite:///{lab_dir / 'mlruns' / 'optuna.db'}"
    assert main(["tune", "--study", "s", "--data", "digits", "--archs", "mlp", "--frameworks", "torch",
                 "--epochs", "1", "--trials", "1", "--pruner", "none", "--quiet", "--storage", url]) == 0
    import optuna

    parent = optuna.load_study(study_name="s", storage=url).user_attrs["mlflow_run_id"]
    argv = TuneOptions(study="s", data="digits", archs=["mlp"], frameworks=["torch"], trials=2, epochs="1",
                       pruner="none", quiet=True).worker_argv(parent, 1)
    monkeypatch.setenv(WORKER_URL_ENV, url)
    assert main(argv) == 0, capsys.readouterr().err
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 2  # the worker joined the study


@pytest.mark.slow  # two workers' start-up: a minute on two cores; the spawn test above is the fast proof
def test_a_tune_worker_process_has_no_storage_url_in_its_command_line(lab_dir):
    """/proc/PID/cmdline of the real workers of `nnlab tune --jobs 2`, read while they run."""
    if not os.path.isdir("/proc/self"):
        pytest.skip("no /proc")
    url = f"sqlite:///{lab_dir / 'mlruns' / 'study-store.db'}"
    process = subprocess.Popen(
        [os.sys.executable, "-m", "experiments", "tune", "--study", "argv", "--data", "digits", "--archs", "mlp",
         "--frameworks", "torch", "--epochs", "1", "--trials", "2", "--jobs", "2", "--pruner", "none",
         "--quiet", "--storage", url], cwd=lab_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(__import__("tests.conftest").conftest.ROOT)})
    seen = []
    import time

    while process.poll() is None:
        for child in children(process.pid):
            try:
                seen.append(open(f"/proc/{child}/cmdline", "rb").read().decode().split("\0"))
            except OSError:
                pass
        time.sleep(0.2)
    out, err = process.communicate()
    assert process.returncode == 0, err[-2000:]
    workers = [argv for argv in seen if "--worker-of" in argv]
    assert workers, seen
    assert not [argv for argv in workers if any("study-store.db" in arg for arg in argv)]


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []
