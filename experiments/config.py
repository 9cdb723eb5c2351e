"""One typed config for a training run: the settings a run plan (`experiments.plan`) resolves.

`experiments.plan` builds it from params.yaml, the architecture's training defaults and the
command line (or a trial's suggestions, or a logged run's params) and validates it; `params()`
is what MLflow logs and `config_from_logged` reads it back, so a pipeline run, a hand run and
a trial agree on every key.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

FRAMEWORKS = ("torch", "keras", "numpy")  # numpy: the from-scratch twins, modules/<family>/numpy_net.py
MAX_SEED = 2**32 - 1  # NumPy's `RandomState`/`seed_everything` take seeds in [0, 2**32 - 1]


def check_seed(value, name: str = "seed") -> int:
    """`value` if it is a seed NumPy accepts; else a UserError naming the range."""
    from modules.errors import UserError

    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise UserError(f"{name} must be an integer in [0, {MAX_SEED}], got {value!r}")
    return value


@dataclass
class TrainConfig:
    """Everything that defines one training run."""

    framework: str = "torch"
    arch: str = "mlp"
    data: str | None = None  # None: the architecture's default dataset
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"
    lr_schedule: str = "constant"  # or "cosine": to 0 over the run, per step (modules.optim)
    seed: int = 0
    split_seed: int = 0
    image_size: int | None = None
    data_dir: str | None = None
    hparams: dict = field(default_factory=dict)
    data_options: dict = field(default_factory=dict)  # the dataset's own settings (e.g. window)
    preset: str | None = None  # a named hyperparameter set of the architecture; None: "default"
    experiment: str | None = None  # None: one experiment per dataset
    quiet: bool = False
    # a final refit (`nnlab best`): train on train+val, keeping a small slice of val to monitor
    train_on_val: bool = False
    # what trains, in both frameworks (experiments.hardware, docs/hardware.md): auto is a GPU when
    # the framework sees one; precision 32, bf16-mixed or 16-mixed (GPUs)
    accelerator: str = "auto"
    precision: str = "32"
    force_precision: bool = False  # bf16-mixed on a CPU without native bf16 (slower), on purpose
    # torch: Lightning DDP processes (`--devices N --num-nodes M --strategy ddp`); keras: GPUs
    # under MirroredStrategy; one device by default
    devices: int = 1
    num_nodes: int = 1
    strategy: str | None = None
    distribute: bool = False  # Keras: tf.distribute.MirroredStrategy over this machine's devices
    # Keras across machines: MultiWorkerMirroredStrategy over "host:port,host:port" (the same list on
    # every worker), this process being worker `worker_index` (0 logs the run); peers awaited this long
    workers: str | None = None
    worker_index: int = 0
    worker_timeout: float = 120.0
    # training controls (experiments.controls); all off by default, so a run trains and is
    # scored as it always was: the last epoch's weights, every epoch, no clipping
    select_best: str | None = None  # e.g. "val/acc": score the test split with the best epoch's weights
    early_stop: int | None = None  # patience in epochs on select_best's metric, else val/loss
    min_delta: float = 0.0  # the least change that counts as an improvement for early_stop
    grad_clip: float | None = None  # clip the global gradient norm of each step to this
    init_weights: str | None = None  # a torchvision state-dict file to start from (experiments.init_weights)
    # the training recipe (modules.optim, datamodules.augment, docs/recipes.md); off by default
    weight_decay: float = 0.0  # coupled L2: + weight_decay * w in each gradient (adam, sgd, rmsprop)
    decoupled_weight_decay: float | None = None  # AdamW's (adamw only); None: modules.optim's
    momentum: float | None = None  # SGD's; None: modules.optim's
    nesterov: bool = False
    label_smoothing: float = 0.0  # classification targets (1 - s) one-hot + s / classes
    warmup_epochs: int = 0  # linear learning-rate warm-up before the schedule
    augment: str | None = None  # training-batch augmentation, e.g. "crop4,flip"
    # debug runs: at most N batches per split (every epoch); one batch of each and nothing logged
    limit_batches: int | None = None
    fast_dev_run: bool = False
    # MLflow's system metrics (CPU, memory, GPU where pynvml finds one) while the run trains
    system_metrics: bool = False
    # False in an Optuna trial: the test split is neither predicted nor scored (only the refit of
    # `nnlab best` sees it), so no choice made from trials can lean on it
    score_test: bool = True

    def validate(self) -> "TrainConfig":
        """This config checked and completed (a new object; `self` is left as it is): see
        `experiments.plan.plan_for`, which also returns the architecture and data it resolved."""
        from experiments.plan import plan_for

        return plan_for(self).config

    def params(self) -> dict:
        """Flat MLflow params: the run's settings and the architecture's hyperparameters."""
        flat = {k: v for k, v in dataclasses.asdict(self).items() if k not in NOT_LOGGED}
        flat.update(self.hparams)
        flat.update({f"data.{k}": v for k, v in self.data_options.items()})
        for key, single in (("devices", 1), ("num_nodes", 1), ("strategy", None), ("distribute", False),
                            ("workers", None), ("worker_index", 0), ("force_precision", False),
                            ("limit_batches", None), ("fast_dev_run", False), ("system_metrics", False),
                            ("score_test", True), *RECIPE_OFF.items()):
            if flat[key] == single:  # one-process (and whole-data) runs log what they always did
                del flat[key]
        if self.workers is None:
            del flat["worker_timeout"]
        return flat


# the recipe settings at their defaults: a run that uses none logs the params it always did
RECIPE_OFF = {"weight_decay": 0.0, "decoupled_weight_decay": None, "momentum": None, "nesterov": False,
              "label_smoothing": 0.0, "warmup_epochs": 0, "augment": None}

# TrainConfig fields that `TrainConfig.params()` does not log under their own name
NOT_LOGGED = ("hparams", "quiet", "experiment", "data_dir", "data_options")


def _parse_logged(text: str):
    """A logged param (`str(value)`) back to its value: numbers, None, booleans, tuples, else text."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def config_from_logged(params: dict, **extra) -> TrainConfig:
    """The TrainConfig (not yet validated) whose `params()` an MLflow run logged; `extra` sets
    the fields that are not logged (experiment, data_dir, quiet)."""
    from modules import registry

    names = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in NOT_LOGGED]
    settings = {k: _parse_logged(params[k]) for k in names if k in params}
    settings["arch"], settings["framework"], settings["data"] = params["arch"], params["framework"], params["data"]
    arch = registry.get(settings["arch"])
    hparams = {k: _parse_logged(params[k]) for k in arch.defaults if k in params}
    data_options = {k[len("data."):]: _parse_logged(v) for k, v in params.items() if k.startswith("data.")}
    return TrainConfig(**settings, hparams=hparams, data_options=data_options, **extra)
