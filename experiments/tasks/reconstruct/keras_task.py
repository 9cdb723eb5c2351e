"""Reconstruction (Keras). Twin of `torch_task.py` beside it."""
from __future__ import annotations

import keras
import numpy as np

from experiments.tasks.keras_base import LabTask, to_channels_first
from modules.autoencoder.keras_net import latent_layer

LOSSES = {"mse": keras.losses.MeanSquaredError, "bce": keras.losses.BinaryCrossentropy}


class ReconstructionModel(keras.Model):
    """Fits a network to its own input: the datamodule's (x, label) batches become (x, x)."""

    def __init__(self, network: keras.Model) -> None:
        super().__init__(name=f"{network.name}_reconstruction")
        self.network = network

    def call(self, x, training=False):
        return self.network(x, training=training)

    def train_step(self, data):
        x = data[0]
        return super().train_step((x, x))

    def test_step(self, data):
        x = data[0]
        return super().test_step((x, x))


class ReconstructTask(LabTask):
    """Train an autoencoder to give back its input: MSE or BCE between pixels in [0, 1].

    The network says which loss (`network.reconstruction_loss`); labels are ignored.
    """

    def compile(self, network: keras.Model) -> keras.Model:
        model = ReconstructionModel(network)
        model.compile(optimizer=self.make_optimizer(), loss=LOSSES[network.reconstruction_loss]())
        return model

    def predict_split(self, datamodule, split: str) -> dict:
        """`reconstruction` (N, C, H, W), `latent` (N, latent_dim) and the `loss` name."""
        encoder = keras.Model(self.network.inputs, latent_layer(self.network).output)
        x, _ = datamodule.arrays(split, layout="channels_last")
        return {"reconstruction": to_channels_first(self.network.predict(x, verbose=0,
                                                                         batch_size=datamodule.batch_size)),
                "latent": np.asarray(encoder.predict(x, verbose=0, batch_size=datamodule.batch_size),
                                     np.float32),
                "loss": self.network.reconstruction_loss}
