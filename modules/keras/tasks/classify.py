"""Classification (Keras). Mirrors `modules/torch/tasks/classify.py`."""
from __future__ import annotations

import keras

from modules.keras.tasks.base import LabTask


class ClassifierTask(LabTask):
    """Softmax classification: cross-entropy on logits, accuracy as the metric."""

    def compile(self, network: keras.Model) -> keras.Model:
        network.compile(optimizer=self.make_optimizer(),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                        metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")])
        return network
