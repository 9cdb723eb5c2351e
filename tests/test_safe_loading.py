"""Reloading models: logged runs reproduce their scores; crafted files never run code."""
import pickle
from pathlib import Path

import pytest
from conftest import run_cli

from experiments.config import TrainConfig
from experiments.evaluate import evaluate, evaluate_run
from experiments.train import train
from modules.errors import UserError


def quick(framework):
    return TrainConfig(framework=framework, arch="mlp", data="digits", epochs=1, batch_size=128,
                       hparams={"depth": 1}, quiet=True).validate()


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_evaluate_run_reproduces_the_logged_test_accuracy(framework):
    summary = train(quick(framework), progress=lambda *a: None)
    now, logged = evaluate_run(summary["run_id"])
    assert now["test/acc"] == pytest.approx(logged["test/acc"], abs=1e-9)
    assert now["test/loss"] == pytest.approx(logged["test/loss"], rel=1e-5)


class _WritesMarker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_torch_file_whose_unpickling_would_run_code_is_refused(lab_dir):
    marker = lab_dir / "marker"
    crafted = lab_dir / "model.pt"
    with open(crafted, "wb") as f:
        pickle.dump({"hidden.1.weight": _WritesMarker(str(marker))}, f)
    with pytest.raises(UserError, match="refusing to load .*model.pt: not a plain weights file"):
        evaluate(quick("torch"), crafted)
    assert not marker.exists()


def test_a_keras_file_with_serialized_code_is_refused(lab_dir):
    from modules import backend

    keras = backend.keras()
    marker = lab_dir / "marker"
    path = str(marker)
    inputs = keras.Input((1, 8, 8))
    outputs = keras.layers.Lambda(lambda x: x + len(open(path, "w").name) * 0)(inputs)
    crafted = lab_dir / "model.keras"
    keras.Model(inputs, outputs).save(crafted)
    marker.unlink(missing_ok=True)  # tracing at save time may have touched it: start clean
    with pytest.raises(UserError, match="refusing to load .*model.keras: it holds serialized code"):
        evaluate(quick("keras"), crafted)
    assert not marker.exists()


def test_cli_refuses_a_crafted_file_in_one_line(lab_dir):
    marker = lab_dir / "marker"
    crafted = lab_dir / "model.pt"
    with open(crafted, "wb") as f:
        pickle.dump(_WritesMarker(str(marker)), f)
    done = run_cli("evaluate", "--model", str(crafted), "--arch", "mlp", "--framework", "torch",
                   "--data", "digits", cwd=lab_dir)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "refusing to load" in line and not marker.exists()


def test_evaluate_with_an_unknown_run_id_is_one_line(lab_dir):
    done = run_cli("evaluate", "--run", "0123456789abcdef", cwd=lab_dir)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "no MLflow run '0123456789abcdef'" in line


def craft_torch_weights(path, marker):
    with open(path, "wb") as f:
        pickle.dump({"hidden.1.weight": _WritesMarker(str(marker))}, f)


def craft_keras_file(path, marker):
    from modules import backend

    keras, name = backend.keras(), str(marker)
    inputs = keras.Input((1, 8, 8))
    keras.Model(inputs, keras.layers.Lambda(lambda x: x + len(open(name, "w").name) * 0)(inputs)).save(path)
    marker.unlink(missing_ok=True)  # tracing at save time may have touched it: start clean


@pytest.mark.parametrize("framework, weights_name, craft", [("torch", "model.pt", craft_torch_weights),
                                                             ("keras", "model.keras", craft_keras_file)])
def test_the_mlflow_model_holds_no_pickle_and_refuses_crafted_weights(lab_dir, framework, weights_name, craft):
    """The run's MLflow Model is code (a models-from-code file) plus plain weights: nothing in it is
    unpickled, and weights whose loading would run code are refused when it loads."""
    import shutil

    import mlflow
    import yaml

    from experiments import tracking

    summary = train(quick(framework), progress=lambda *a: None)
    (output,) = tracking.client().get_run(summary["run_id"]).outputs.model_outputs
    folder = Path(mlflow.artifacts.download_artifacts(f"models:/{output.model_id}", dst_path=str(lab_dir / "m")))
    files = {p.name for p in folder.rglob("*") if p.is_file()}
    assert not any(name.endswith((".pkl", ".pickle", ".cloudpickle")) for name in files), files
    flavor = yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["python_function"]
    assert flavor["model_code_path"].endswith("mlflow_pyfunc.py") and "python_model" not in flavor
    mlflow.pyfunc.load_model(str(folder))  # loads as logged
    marker = lab_dir / "marker"
    (weights,) = [p for p in folder.rglob(weights_name)]
    craft(weights, marker)
    with pytest.raises(Exception, match=f"refusing to load .*{weights_name}"):
        mlflow.pyfunc.load_model(str(folder))
    assert not marker.exists()
    shutil.rmtree(folder)
