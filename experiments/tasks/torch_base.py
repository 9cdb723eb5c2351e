"""What every torch task module shares: optimizer, epoch means, predictions. Twin of `keras_base.py`."""
from __future__ import annotations

import numpy as np
import torch

from modules.optim import PLAIN_RECIPE, Recipe, lr_factor
from modules.optim.torch_optim import make_optimizer


class EpochMeans:
    """Sample-weighted running sums of one epoch, kept as tensors (no per-step sync)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, n: int, **values: torch.Tensor) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0) + value.detach() * n
        self.count += n

    def means(self) -> dict[str, float]:
        return {k: float(v) / max(self.count, 1) for k, v in self.sums.items()}


class LabTask(torch.nn.Module):
    """Base task: holds the network, builds the optimizer, tracks epoch means.

    Subclasses implement `_step(batch, stage)` (adding to `self.epoch_means[stage]`
    and returning the loss) and may override `predict_split`.

    A plain `nn.Module` with the few `LightningModule` members the lab's loop and tasks use, under
    their names (`training_step`, `configure_optimizers`, the epoch hooks, `automatic_optimization`,
    `optimizers()`, `manual_backward`): a torch run then needs Lightning Fabric alone, not
    `lightning.pytorch`, which imports torchmetrics and torchvision (docs/benchmarks.md, start-up).
    """

    # the per-epoch metric of each optimizer's learning rate, in `configure_optimizers`' order
    LR_KEYS = ("train/lr",)
    automatic_optimization = True  # False: `training_step` steps its optimizers itself

    def __init__(self, network: torch.nn.Module, lr: float = 1e-3, optimizer: str = "adam",
                 lr_schedule: str = "constant", total_steps: int | None = None, recipe: Recipe = PLAIN_RECIPE) -> None:
        super().__init__()
        self.network = network
        self.lr, self.optimizer_name = lr, optimizer
        self.lr_schedule, self.total_steps = lr_schedule, total_steps
        self.recipe = recipe
        self.epoch_means = {"train": EpochMeans(), "val": EpochMeans()}
        # `Fabric.setup` fills these in on a module that has `_fabric` (as on a LightningModule)
        self._fabric, self._fabric_optimizers = None, []

    def optimizers(self):
        """The optimizers as Fabric set them up: the one, or the list of them."""
        optimizers = self._fabric_optimizers
        return optimizers[0] if len(optimizers) == 1 else optimizers

    def manual_backward(self, loss: torch.Tensor) -> None:
        """Backward through Fabric (its precision plugin's loss scaling, DDP's gradient sync)."""
        self._fabric.backward(loss)

    def forward(self, *inputs):
        return self.network(*inputs)

    def _step(self, batch, stage: str) -> torch.Tensor:
        raise NotImplementedError

    def training_step(self, batch, batch_idx: int):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def on_train_epoch_start(self) -> None:
        self.epoch_means["train"].reset()

    def on_validation_epoch_start(self) -> None:
        self.epoch_means["val"].reset()

    def on_train_epoch_end(self) -> None:
        """After the epoch's validation (the loop calls it before its callbacks)."""

    def epoch_metrics(self) -> dict[str, float]:
        """This epoch's metrics under the lab's keys (`train/loss`, `val/acc`, ...)."""
        return {f"{stage}/{k}": v for stage, means in self.epoch_means.items()
                for k, v in means.means().items()}

    def configure_optimizers(self):
        optimizer = make_optimizer(self.optimizer_name, self.parameters(), self.lr, self.recipe.regularization)
        if self.lr_schedule == "constant" and not self.recipe.warmup_steps:
            return optimizer
        if not self.total_steps:
            raise ValueError(f"lr_schedule {self.lr_schedule!r} needs total_steps (the run's optimizer steps)")
        total, schedule, warmup = self.total_steps, self.lr_schedule, self.recipe.warmup_steps
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                      lambda step: lr_factor(schedule, step, total, warmup))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def predict_split(self, datamodule, split: str) -> np.ndarray:
        """The network's outputs on every batch of `split`, in order, in evaluation mode."""
        loader = {"train": datamodule.train_dataloader, "val": datamodule.val_dataloader,
                  "test": datamodule.test_dataloader}[split]()
        self.network.eval()
        with torch.inference_mode():
            return torch.cat([self.network(batch[0]) for batch in loader]).numpy()

    def test_outputs(self, datamodule):
        """What the task's scorer receives: by default the outputs on the test split."""
        return self.predict_split(datamodule, "test")
