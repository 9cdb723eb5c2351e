"""What every Keras task shares. Twin of `torch_base.py`."""
from __future__ import annotations

import numpy as np

from modules import backend
from modules.optim import PLAIN_RECIPE, Recipe
from modules.optim.keras_optim import LabSchedule, make_optimizer


def to_channels_first(outputs: np.ndarray) -> np.ndarray:
    """(N, H, W, C) outputs -> (N, C, H, W), as the torch side returns them."""
    return outputs.transpose(0, 3, 1, 2) if outputs.ndim == 4 else outputs


class LabTask:
    """Base task: `self.model` is what `fit` trains; subclasses compile it in `compile`."""

    # the per-epoch metric of each optimizer's learning rate, in `optimizers()`' order
    LR_KEYS = ("train/lr",)

    def __init__(self, network, lr: float = 1e-3, optimizer: str = "adam", lr_schedule: str = "constant",
                 total_steps: int = 1, grad_clip: float | None = None, recipe: Recipe = PLAIN_RECIPE) -> None:
        self.network = network
        self.recipe = recipe
        self.lr, self.optimizer_name = lr, optimizer
        self.lr_schedule, self.total_steps = lr_schedule, total_steps
        self.grad_clip = grad_clip
        self.model = self.compile(network)

    def make_optimizer(self):
        return make_optimizer(self.optimizer_name, self.learning_rate(), global_clipnorm=self.grad_clip,
                              regularization=self.recipe.regularization)

    def optimizers(self) -> list:
        """The optimizers `fit` steps (none for a network with its own `fit`)."""
        optimizer = getattr(self.model, "optimizer", None)
        return [optimizer] if optimizer is not None else []

    def learning_rate(self):
        """`lr`, or a Keras schedule per optimizer step equal to `modules.optim.lr_factor`."""
        if self.lr_schedule == "constant" and not self.recipe.warmup_steps:
            return self.lr
        if self.lr_schedule == "cosine" and not self.recipe.warmup_steps:  # as before the lab's schedule
            keras = backend.keras()
            return keras.optimizers.schedules.CosineDecay(self.lr, decay_steps=self.total_steps)
        return LabSchedule(self.lr, self.lr_schedule, self.total_steps, self.recipe.warmup_steps)

    def compile(self, network):
        raise NotImplementedError

    def predict_split(self, datamodule, split: str) -> np.ndarray:
        """The network's outputs on `split`, in order, channels-first."""
        return to_channels_first(self.network.predict(datamodule.keras_dataset(split), verbose=0))

    def test_outputs(self, datamodule):
        """What the task's scorer receives: by default the outputs on the test split."""
        return self.predict_split(datamodule, "test")
