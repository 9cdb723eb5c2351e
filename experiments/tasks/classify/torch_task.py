"""Classification (Lightning). Twin of `keras_task.py` beside it."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from experiments.tasks.torch_base import LabTask


class ClassifierTask(LabTask):
    """Softmax classification: cross-entropy on logits, accuracy as the metric.

    A network with auxiliary classifiers (GoogLeNet) returns (main, *auxiliary) logits
    in training mode: their losses are added, weighted by its `aux_loss_weight`;
    accuracy, validation and predictions use the main logits alone.
    """

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch
        outputs = self(x)
        logits, *aux_logits = outputs if isinstance(outputs, tuple) else (outputs,)
        smoothing = self.recipe.label_smoothing  # as Keras's compiled loss: train and val
        loss = F.cross_entropy(logits, y, label_smoothing=smoothing)
        if aux_logits:
            loss = loss + self.network.aux_loss_weight * sum(F.cross_entropy(aux, y, label_smoothing=smoothing)
                                                             for aux in aux_logits)
        acc = (logits.argmax(dim=1) == y).float().mean()
        self.epoch_means[stage].add(len(y), loss=loss, acc=acc)
        return loss
