"""Sequence-to-sequence translation (Keras). Twin of `torch_task.py` beside it."""
from __future__ import annotations

import keras
import numpy as np

from experiments.tasks.keras_base import LabTask
from modules import backend
from modules.attention.spec import PAD, pack_translations


class TranslateTask(LabTask):
    """Cross-entropy per target token (PAD ignored); `acc` is per-token accuracy under teacher forcing."""

    def compile(self, network: keras.Model) -> keras.Model:
        network.compile(optimizer=self.make_optimizer(),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD),
                        metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")])
        return network

    def predict_split(self, datamodule, split: str) -> np.ndarray:
        """Greedy decodings of `split`: logits and attention weights packed (see `pack_translations`)."""
        tf = backend.tensorflow()
        datamodule.setup()
        data = datamodule.splits[split]
        steps = data.y.shape[1]
        generate = tf.function(lambda source: self.network.generate(source, steps), reduce_retracing=True)
        logits, weights = [], []
        for start in range(0, len(data), 500):
            out, w = generate(tf.constant(data.x[start:start + 500]))
            logits.append(np.asarray(out))
            weights.append(np.asarray(w))
        return pack_translations(np.concatenate(logits), np.concatenate(weights))
