"""Classification (Keras). Twin of `torch_task.py` beside it."""
from __future__ import annotations

import keras
from keras import ops

from experiments.tasks.keras_base import LabTask


@keras.saving.register_keras_serializable(package="nnlab")
class SparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer labels on logits, with torch's `label_smoothing` (Keras's sparse
    loss has none): targets (1 - s) one-hot + s / classes."""

    def __init__(self, label_smoothing: float = 0.0, name: str = "sparse_crossentropy", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        if not self.label_smoothing:
            return keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        return keras.losses.categorical_crossentropy(ops.one_hot(labels, ops.shape(y_pred)[-1]), y_pred,
                                                     from_logits=True, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class AuxiliaryLossModel(keras.Model):
    """What `fit` trains for a network that returns (main, *auxiliary) logits in training
    (GoogLeNet): the compiled loss on the main logits plus the network's `aux_loss_weight`
    times each auxiliary loss; metrics and evaluation on the main logits alone."""

    def __init__(self, network: keras.Model, label_smoothing: float = 0.0) -> None:
        super().__init__(name=f"{network.name}_with_aux_loss")
        self.network = network
        self.aux_loss = SparseCrossentropy(label_smoothing)

    def call(self, inputs, training=None):
        return self.network(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if not isinstance(y_pred, (tuple, list)):
            return super().compute_loss(x, y, y_pred, sample_weight, training=training)
        main, *aux_logits = y_pred
        loss = super().compute_loss(x, y, main, sample_weight, training=training)
        return loss + self.network.aux_loss_weight * sum(self.aux_loss(y, aux) for aux in aux_logits)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        main = y_pred[0] if isinstance(y_pred, (tuple, list)) else y_pred
        return super().compute_metrics(x, y, main, sample_weight)


class ClassifierTask(LabTask):
    """Softmax classification: cross-entropy on logits, accuracy as the metric.

    A network with an `aux_loss_weight` returns auxiliary logits in training; it is
    trained through `AuxiliaryLossModel`. Other networks are compiled as they are.
    """

    def compile(self, network: keras.Model) -> keras.Model:
        smoothing = self.recipe.label_smoothing
        if getattr(network, "aux_loss_weight", None) is not None:
            network = AuxiliaryLossModel(network, smoothing)
        loss = (SparseCrossentropy(smoothing) if smoothing  # else the loss the lab always compiled
                else keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        network.compile(optimizer=self.make_optimizer(), loss=loss,
                        metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")])
        return network
