"""Classification (Lightning). Mirrors `modules/keras/tasks/classify.py`."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from modules.torch.tasks.base import LabTask


class ClassifierTask(LabTask):
    """Softmax classification: cross-entropy on logits, accuracy as the metric."""

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(dim=1) == y).float().mean()
        self.epoch_means[stage].add(len(y), loss=loss, acc=acc)
        return loss
