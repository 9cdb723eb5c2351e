"""The models-from-code file of every run's MLflow Model (`experiments.mlflow_model`): MLflow
runs this file to get the model, so no pickled object is ever loaded from the store."""
import json
from pathlib import Path

import mlflow
import numpy as np

from experiments.mlflow_model import load_network, predict


class NetworkModel(mlflow.pyfunc.PythonModel):
    """The pyfunc model: rebuilds the network from `network.json` and loads its weights safely."""

    def load_context(self, context) -> None:
        spec = json.loads(Path(context.artifacts["network"]).read_text())
        self.framework, self.batch_size = spec["framework"], spec["batch_size"]
        self.network = load_network(spec, Path(context.artifacts["weights"]))

    def predict(self, context, model_input: np.ndarray, params=None) -> np.ndarray:
        return predict(self.framework, self.network, np.asarray(model_input, dtype=np.float32),
                       self.batch_size)


mlflow.models.set_model(NetworkModel())
