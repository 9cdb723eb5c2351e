"""What `nnlab tune` was asked for: the study, its space's bounds, sampler, pruner, workers."""
from __future__ import annotations

from dataclasses import dataclass, field

from experiments.tune.recipe import setting_flags
from experiments.tune.space import Objective, parse_objectives
from modules.errors import UserError

SAMPLERS = ("tpe", "random", "nsga2")
PRUNERS = ("median", "asha", "hyperband", "none")


@dataclass
class TuneOptions:
    """What `nnlab tune` was asked for."""

    study: str
    data: str
    archs: list[str] | None = None
    family: str | None = None
    frameworks: list[str] | None = None
    optimizers: list[str] | None = None  # None: every optimizer (modules.optim.OPTIMIZERS)
    trials: int = 20
    timeout: float | None = None
    objective: str = "val/acc"
    sampler: str = "tpe"
    pruner: str = "median"
    storage: str | None = None
    jobs: int = 1
    seed: int = 0
    epochs: str | None = None
    early_stop: int | None = None  # every trial's patience (experiments.controls), with min_delta
    min_delta: float | None = None
    limit_batches: int | None = None  # debug: at most N batches of each split per epoch, every trial
    image_size: int | None = None
    # the recipe and hardware flags every trial trains with, TrainConfig names (given ones only),
    # and the recipe settings searched (experiments.tune.recipe)
    settings: dict = field(default_factory=dict)
    search: list[str] | None = None
    experiment: str | None = None
    quiet: bool = False
    worker_of: str | None = None  # set in the processes `--jobs` starts: the study's MLflow run
    worker_index: int = 0
    objectives: list[Objective] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise UserError(f"unknown sampler {self.sampler!r}; valid: {', '.join(SAMPLERS)}")
        if self.pruner not in PRUNERS:
            raise UserError(f"unknown pruner {self.pruner!r}; valid: {', '.join(PRUNERS)}")
        if not self.study or "/" in self.study:
            raise UserError(f"--study {self.study!r}: give a name without '/'")
        if self.min_delta is not None and not self.early_stop:
            raise UserError("--min-delta applies to early stopping: add --early-stop PATIENCE")
        self.objectives = parse_objectives(self.objective)
        self.experiment = self.experiment or self.data

    @property
    def keys(self) -> list[str]:
        return [o.key for o in self.objectives]

    def worker_argv(self, parent_run_id: str, index: int) -> list[str]:
        """The command line of worker `index` of a `--jobs` study: without the storage URL, which
        may hold a password (any local user can read a process's argv); the workers read it from
        the environment (`experiments.tune.storage.WORKER_URL_ENV`)."""
        argv = ["tune", "--study", self.study, "--data", self.data, "--trials", str(self.trials),
                "--objective", self.objective, "--sampler", self.sampler, "--pruner", self.pruner,
                "--seed", str(self.seed), "--experiment", self.experiment, "--quiet",
                "--worker-of", parent_run_id, "--worker-index", str(index)]
        for flag, value in (("--archs", self.archs), ("--family", self.family),
                            ("--frameworks", self.frameworks), ("--optimizers", self.optimizers),
                            ("--search", self.search)):
            if value:
                argv += [flag, value if isinstance(value, str) else ",".join(value)]
        for flag, value in (("--timeout", self.timeout), ("--epochs", self.epochs),
                            ("--image-size", self.image_size), ("--early-stop", self.early_stop),
                            ("--min-delta", self.min_delta), ("--limit-batches", self.limit_batches)):
            if value is not None:
                argv += [flag, str(value)]
        return argv + setting_flags(self.settings)
