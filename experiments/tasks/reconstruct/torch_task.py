"""Reconstruction (Lightning). Twin of `keras_task.py` beside it."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from experiments.tasks.torch_base import LabTask

LOSSES = {"mse": F.mse_loss, "bce": F.binary_cross_entropy}


class ReconstructTask(LabTask):
    """Train an autoencoder to give back its input: MSE or BCE between pixels in [0, 1].

    The network says which loss (`network.reconstruction_loss`); labels are ignored.
    """

    def _step(self, batch, stage: str) -> torch.Tensor:
        x = batch[0]
        loss = LOSSES[self.network.reconstruction_loss](self(x), x)
        self.epoch_means[stage].add(len(x), loss=loss)
        return loss

    def predict_split(self, datamodule, split: str) -> dict:
        """`reconstruction` (N, C, H, W), `latent` (N, latent_dim) and the `loss` name."""
        loader = {"train": datamodule.train_dataloader, "val": datamodule.val_dataloader,
                  "test": datamodule.test_dataloader}[split]()
        self.network.eval()
        latents, reconstructions = [], []
        with torch.inference_mode():
            for batch in loader:
                code = self.network.encode(batch[0])
                latents.append(code)
                reconstructions.append(self.network.decoder(code))
        return {"reconstruction": torch.cat(reconstructions).numpy(),
                "latent": torch.cat(latents).numpy().astype(np.float32),
                "loss": self.network.reconstruction_loss}
