"""Sequence-to-sequence translation (Lightning). Twin of `keras_task.py` beside it.

Training reads the target shifted right (teacher forcing); predictions decode
greedily from BOS, one token at a time, each step reading the last prediction.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from experiments.tasks.torch_base import LabTask
from modules.attention.spec import PAD, pack_translations


class TranslateTask(LabTask):
    """Cross-entropy per target token (PAD ignored); `acc` is per-token accuracy under teacher forcing."""

    def _step(self, batch, stage: str) -> torch.Tensor:
        (source, decoder_input), target = batch
        logits = self(source, decoder_input)  # (B, T, V)
        loss = F.cross_entropy(logits.transpose(1, 2), target, ignore_index=PAD)
        acc = (logits.argmax(dim=-1) == target).float().mean()
        self.epoch_means[stage].add(len(target), loss=loss, acc=acc)
        return loss

    def predict_split(self, datamodule, split: str) -> np.ndarray:
        """Greedy decodings of `split`: logits and attention weights packed (see `pack_translations`)."""
        datamodule.setup()
        data = datamodule.splits[split]
        self.network.eval()
        logits, weights = [], []
        with torch.inference_mode():
            for start in range(0, len(data), 500):
                out, w = self.network.generate(torch.from_numpy(data.x[start:start + 500]), data.y.shape[1])
                logits.append(out.numpy())
                weights.append(w.numpy())
        return pack_translations(np.concatenate(logits), np.concatenate(weights))
