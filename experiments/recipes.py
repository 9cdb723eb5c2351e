"""The training recipe of a run (weight decay, momentum, label smoothing, warm-up, augmentation):
checked once in the plan, handed to both frameworks' tasks as one `modules.optim.Recipe`.
See docs/recipes.md."""
from __future__ import annotations

import math

from experiments.config import RECIPE_OFF, TrainConfig
from modules.errors import UserError
from modules.optim import Recipe, Regularization


def regularization_of(config: TrainConfig) -> Regularization:
    """The optimizer settings of `config`'s recipe."""
    return Regularization(weight_decay=config.weight_decay, decoupled_weight_decay=config.decoupled_weight_decay,
                          momentum=config.momentum, nesterov=bool(config.nesterov))


def check_recipe(config: TrainConfig, task: str, data) -> None:
    """Each recipe setting is in range and applies to this run (UserError: one line naming the fix)."""
    from datamodules.augment import parse_augment

    used = [key for key, off in RECIPE_OFF.items() if getattr(config, key) != off]
    if used and (config.framework == "numpy" or task == "generate"):
        what = "a GAN (its paper's Adam)" if task == "generate" else "--framework numpy"
        raise UserError(f"{what} takes no training recipe; drop --{used[0].replace('_', '-')}")
    regularization_of(config).check(config.optimizer)
    if not (0 <= config.label_smoothing < 1 and math.isfinite(config.label_smoothing)):
        raise UserError(f"--label-smoothing must be in [0, 1), got {config.label_smoothing}")
    if config.label_smoothing and task != "classify":
        raise UserError(f"--label-smoothing is for classification; this run's task is {task}")
    if isinstance(config.warmup_epochs, bool) or not isinstance(config.warmup_epochs, int) \
            or not 0 <= config.warmup_epochs < config.epochs:
        raise UserError(f"--warmup-epochs must be an integer in [0, epochs) = [0, {config.epochs}), "
                        f"got {config.warmup_epochs}")
    parse_augment(config.augment, data.kind, data.name)


def recipe_of(config: TrainConfig, steps_per_epoch: int) -> Recipe:
    """The `Recipe` both frameworks' tasks take, with the warm-up in optimizer steps."""
    return Recipe(regularization=regularization_of(config), warmup_steps=config.warmup_epochs * steps_per_epoch,
                  label_smoothing=config.label_smoothing)
