"""One typed config for a training run, from params.yaml and the command line.

The same object is validated here, logged to MLflow by `tracking`, and built by
Optuna trials, so a pipeline run, a hand run and a trial agree on every key.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from modules.errors import UserError

FRAMEWORKS = ("torch", "keras", "numpy")  # numpy: the from-scratch twins, modules/<family>/numpy_net.py
PARAMS_FILE = Path("params.yaml")


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
    experiment: str | None = None  # None: one experiment per dataset
    quiet: bool = False
    # a final refit (`nnlab best`): train on train+val, keeping a small slice of val to monitor
    train_on_val: bool = False
    # Lightning DDP (`--devices N --num-nodes M --strategy ddp`); one process by default
    devices: int = 1
    num_nodes: int = 1
    strategy: str | None = None
    distribute: bool = False  # Keras: tf.distribute.MirroredStrategy over this machine's devices

    def validate(self) -> "TrainConfig":
        """Check names and ranges; raise UserError naming the first problem and its fix."""
        import datamodules
        from modules import registry
        from modules.optim import check_lr_schedule, optimizer_settings

        if self.framework not in FRAMEWORKS:
            raise UserError(f"unknown framework {self.framework!r}; valid: {', '.join(FRAMEWORKS)}")
        arch = registry.get(self.arch)
        if self.framework == "numpy":  # only some architectures have a from-scratch NumPy twin
            from modules.toolkit.numpy_optim import check_training

            check_training(self.arch, self.optimizer)
        if self.data is None:
            self.data = arch.default_data
            if self.image_size is None:
                self.image_size = arch.default_image_size
        info = datamodules.get_info(self.data)
        for name, value, kind in (("epochs", self.epochs, int), ("batch size", self.batch_size, int),
                                  ("learning rate", self.lr, float)):
            if not isinstance(value, (int, float)) or value <= 0:
                raise UserError(f"{name} must be a positive {kind.__name__}, got {value}")
        optimizer_settings(self.optimizer)
        check_lr_schedule(self.lr_schedule)
        if self.image_size is not None:
            if info.kind != "image":
                raise UserError(f"--image-size applies to image data; {self.data} is {info.kind} data")
            if self.image_size <= 0:
                raise UserError(f"image size must be a positive integer, got {self.image_size}")
        side = self.image_size or (info.shape[-1] if info.kind == "image" else None)
        if arch.min_input_size and side is not None and side < arch.min_input_size:
            raise UserError(f"{self.arch} needs images of at least {arch.min_input_size}x"
                            f"{arch.min_input_size}; {self.data} is {side}x{side}: "
                            f"pass --image-size {arch.min_input_size} (or larger)")
        self.hparams = arch.hyperparameters(self.hparams)
        self.data_options = info.with_options(self.data_options)
        if info.options:  # the datamodule checks its settings against the data (cheap: nothing loads)
            datamodules.create(self.data, **self.data_options)
        from experiments.tasks import effective_task

        task = effective_task(arch.task, info.task, self.arch, self.data)  # e.g. a forecaster on image data
        if self.lr_schedule != "constant" and (task == "generate" or self.framework == "numpy"):
            what = "a GAN" if task == "generate" else "--framework numpy"
            raise UserError(f"{what} trains at a constant learning rate; drop --lr-schedule {self.lr_schedule}")
        self._check_distributed()
        return self

    def _check_distributed(self) -> None:
        """Devices this machine has, and a strategy only where Lightning DDP runs."""
        if self.distribute and self.framework != "keras":
            raise UserError("--distribute is for --framework keras; for torch use --devices N --strategy ddp")
        if self.devices == 1 and self.num_nodes == 1 and self.strategy is None:
            return
        if self.framework != "torch":
            raise UserError("--devices/--num-nodes/--strategy are Lightning's (--framework torch); "
                            "for keras use --distribute")
        if self.strategy not in (None, "ddp"):
            raise UserError(f"unknown strategy {self.strategy!r}; valid: ddp")
        import os

        from modules import backend

        torch = backend.torch()
        kind, available = (("GPUs", torch.cuda.device_count()) if torch.cuda.is_available()
                           else ("CPU cores", os.cpu_count() or 1))
        if self.devices > available:
            raise UserError(f"--devices {self.devices} but this machine has {available} {kind}; "
                            f"pass --devices {available} or fewer")

    def params(self) -> dict:
        """Flat MLflow params: the run's settings and the architecture's hyperparameters."""
        flat = {k: v for k, v in dataclasses.asdict(self).items()
                if k not in ("hparams", "quiet", "experiment", "data_dir", "data_options")}
        flat.update(self.hparams)
        flat.update({f"data.{k}": v for k, v in self.data_options.items()})
        for key, single in (("devices", 1), ("num_nodes", 1), ("strategy", None), ("distribute", False)):
            if flat[key] == single:  # one-process runs log what they always did
                del flat[key]
        return flat


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


def load_params(path: Path = PARAMS_FILE) -> dict:
    """Defaults from params.yaml: {"epochs": ..., "batch_size": ..., ...}; {} if absent."""
    if not Path(path).is_file():
        return {}
    import yaml

    try:
        params = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as err:
        raise UserError(f"{path}: not valid YAML ({err.__class__.__name__}); fix or delete it") from None
    defaults = dict(params.get("train", {}) or {})
    if "split_seed" in (params.get("data") or {}):
        defaults["split_seed"] = params["data"]["split_seed"]
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(defaults) - known)
    if unknown:
        raise UserError(f"{path}: unknown train keys {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    return defaults
