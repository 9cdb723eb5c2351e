"""One resolved run: params.yaml < the architecture's defaults < overrides -> a `RunPlan`.

Every command and the Optuna objective build their runs here, once: `resolve` merges
params.yaml (`train:` and `data.split_seed`), the architecture's `train_defaults` (and, for
`--framework numpy`, the NumPy twins' `TRAIN_DEFAULTS`) and the overrides (the command line,
a trial's suggestions, a refit's settings); `plan_for` validates a complete `TrainConfig` (a
logged run's, a test's) without changing it. The plan hands objects, not names, downstream:
the datamodule factory, the runner, the scorer and tracking read the same architecture entry,
dataset description and task.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from experiments.config import FRAMEWORKS, TrainConfig, check_seed
from modules.errors import UserError

PARAMS_FILE = Path("params.yaml")


@dataclass(frozen=True)
class RunPlan:
    """A validated run: its settings and what they resolved to."""

    config: TrainConfig  # complete: data, image size, every hyperparameter, data options, preset
    arch: object  # modules.registry.Architecture
    data: object  # datamodules.DatasetInfo
    task: str  # what the run trains and scores (`experiments.tasks.effective_task`)
    input_shape: tuple  # one sample as both frameworks' builders take it

    @property
    def preset(self) -> str:
        return self.config.preset

    def params(self) -> dict:
        """The MLflow params of the run."""
        return self.config.params()

    def tags(self) -> dict:
        """The MLflow tags that name what the run is."""
        return {"framework": self.config.framework, "arch": self.arch.name, "data": self.data.name,
                "task": self.task}


def load_params(path: Path | None = PARAMS_FILE) -> dict:
    """TrainConfig settings from params.yaml's `train:` and `data.split_seed`; {} if absent."""
    if path is None or not Path(path).is_file():
        return {}
    import yaml

    try:
        params = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as err:
        raise UserError(f"{path}: not valid YAML ({err.__class__.__name__}); fix or delete it") from None
    settings = dict(params.get("train", {}) or {})
    if "split_seed" in (params.get("data") or {}):
        settings["split_seed"] = params["data"]["split_seed"]
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise UserError(f"{path}: unknown train keys {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    return settings


def resolve(overrides: dict, *, params_file: Path | None = PARAMS_FILE, source: str = "the command line",
            arch_data_options: bool = True) -> RunPlan:
    """params.yaml < the architecture's `train_defaults` (< NumPy's for `framework="numpy"`) <
    `overrides` (TrainConfig field names; a None value means not given) -> the validated plan.

    `source` names where the overrides come from, for the error an unknown key raises.
    `arch_data_options=False` leaves out the data options of `train_defaults` (a study chooses on
    the validation split, so it keeps the dataset's own, e.g. mnist1d's held-out 400).
    """
    from modules import registry

    given = {k: v for k, v in overrides.items() if v is not None}
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(given) - known)
    if unknown:
        raise UserError(f"{source}: unknown settings {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    settings = load_params(params_file)
    arch = registry.get(given.get("arch") or settings.get("arch") or TrainConfig.arch)
    train_defaults = dict(arch.train_defaults)
    data_defaults = train_defaults.pop("data_options", {})  # for the architecture's own dataset only
    settings.update(train_defaults)
    if given.get("framework", settings.get("framework")) == "numpy":  # plain SGD needs its own lr
        from modules.toolkit.numpy_optim import TRAIN_DEFAULTS

        settings.update(TRAIN_DEFAULTS)
    settings.update(given)
    settings["arch"] = arch.name
    # the architecture's data options, on its own dataset only, key by key (a --data-option adds to them)
    if arch_data_options and data_defaults and settings.get("data") in (None, arch.default_data):
        settings["data_options"] = {**data_defaults, **settings.get("data_options", {})}
    return plan_for(TrainConfig(**settings), arch)


def plan_for(config: TrainConfig, arch=None) -> RunPlan:
    """Check `config`'s names and ranges (UserError naming the first problem and its fix) and
    return the plan with a completed copy of it; `config` itself is not changed."""
    import datamodules
    from experiments.controls import check_controls
    from experiments.hardware import check_hardware
    from experiments.recipes import check_recipe
    from experiments.tasks import check_forecast_fit, effective_task
    from modules import registry
    from modules.optim import check_lr_schedule, optimizer_settings

    if config.framework not in FRAMEWORKS:
        raise UserError(f"unknown framework {config.framework!r}; valid: {', '.join(FRAMEWORKS)}")
    arch = arch if arch is not None and arch.name == config.arch else registry.get(config.arch)
    if config.framework == "numpy":  # only some architectures have a from-scratch NumPy twin
        from modules.toolkit.numpy_optim import check_training

        check_training(arch.name, config.optimizer)
    data, image_size = config.data, config.image_size
    if data is None:
        data = arch.default_data
        if image_size is None:
            image_size = arch.default_image_size
    info = datamodules.get_info(data)
    for name, value, kind in (("epochs", config.epochs, int), ("batch size", config.batch_size, int),
                              ("learning rate", config.lr, float)):
        if not isinstance(value, (int, float)) or not (value > 0 and math.isfinite(value)):
            raise UserError(f"{name} must be a finite positive {kind.__name__}, got {value}")
    check_seed(config.seed)
    check_seed(config.split_seed, "split seed")
    optimizer_settings(config.optimizer)
    check_lr_schedule(config.lr_schedule)
    if image_size is not None:
        if info.kind != "image":
            raise UserError(f"--image-size applies to image data; {data} is {info.kind} data")
        if image_size <= 0:
            raise UserError(f"image size must be a positive integer, got {image_size}")
        check_image_memory(info, image_size)
    side = image_size or (info.shape[-1] if info.kind == "image" else None)
    if arch.min_input_size and side is not None and side < arch.min_input_size:
        raise UserError(f"{arch.name} needs images of at least {arch.min_input_size}x"
                        f"{arch.min_input_size}; {data} is {side}x{side}: "
                        f"pass --image-size {arch.min_input_size} (or larger)")
    preset = config.preset or registry.DEFAULT_PRESET
    hparams = arch.hyperparameters(config.hparams, preset)
    data_options = info.with_options(config.data_options)
    if set(info.options) - set(datamodules.TRAIN_SIZE):
        # the datamodule checks its own settings against the data (cheap: nothing loads)
        datamodules.create(data, **data_options)
    if data_options.get("val_size") == 0 and (config.select_best or config.early_stop or config.train_on_val):
        # mnist1d's paper setting: the validation split is the test split, for watching only
        raise UserError("with --data-option val_size=0 the validation split is the test split: choosing on it "
                        "(--select-best, --early-stop, a refit) would be choosing on test; pass val_size=400")
    check_forecast_fit(arch, info)
    task = effective_task(arch.task, info.task, arch.name, data)  # e.g. a forecaster on image data
    if config.lr_schedule != "constant" and (task == "generate" or config.framework == "numpy"):
        what = "a GAN" if task == "generate" else "--framework numpy"
        raise UserError(f"{what} trains at a constant learning rate; drop --lr-schedule {config.lr_schedule}")
    check_hardware(config)
    check_distributed(config)
    check_controls(config, task)
    check_recipe(config, task, info)
    debug = {"epochs": 1, "limit_batches": 1} if config.fast_dev_run else {}  # as Lightning's fast_dev_run
    resolved = dataclasses.replace(config, data=data, image_size=image_size, hparams=hparams,
                                   data_options=data_options, preset=preset,
                                   precision=str(config.precision), **debug)
    return RunPlan(resolved, arch, info, task, input_shape(info, image_size, data_options))


def check_image_memory(info, image_size: int) -> None:
    """Before resizing: the dataset at `image_size` (float32, every split) fits in this machine's
    memory; else a UserError naming the largest size that does."""
    channels, samples = info.shape[0], sum(info.splits)
    needed = samples * channels * image_size**2 * 4
    limit = physical_memory()
    if needed > limit:
        largest = math.isqrt(limit // (samples * channels * 4))
        raise UserError(f"--image-size {image_size} needs {needed / 2**30:,.0f} GiB for {info.name} "
                        f"({samples} images of {channels}x{image_size}x{image_size} float32); this machine "
                        f"has {limit / 2**30:,.0f} GiB: the limit here is --image-size {largest}")


def physical_memory() -> int:
    """Bytes of RAM on this machine."""
    import os

    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def input_shape(info, image_size: int | None, data_options: dict) -> tuple:
    """One sample's shape as the datamodule will serve it (channels first), without loading it."""
    if info.kind == "image" and image_size:
        return (info.shape[0], image_size, image_size)
    if "window" in data_options:  # a forecasting series: `window` steps of its features
        return (data_options["window"], *info.shape[1:])
    return tuple(info.shape)


def check_workers(config: TrainConfig) -> None:
    """`--workers/--worker-index/--worker-timeout`: Keras across machines, checked before any import."""
    if config.workers is None:
        if config.worker_index != 0:
            raise UserError("--worker-index goes with --workers HOST:PORT,HOST:PORT (the same list on every worker)")
        return
    if config.framework != "keras":
        raise UserError("--workers is for --framework keras; for torch across machines use "
                        "--devices N --num-nodes M --strategy ddp")
    from experiments.runners.keras_multiworker import parse_workers

    count = len(parse_workers(config.workers))
    if not 0 <= config.worker_index < count:
        raise UserError(f"--worker-index {config.worker_index} but --workers lists {count} workers; "
                        f"pass 0 to {count - 1}")
    if not config.worker_timeout > 0:
        raise UserError(f"--worker-timeout must be a positive number of seconds, got {config.worker_timeout}")


def check_distributed(config: TrainConfig) -> None:
    """Devices this machine has, and a strategy only where Lightning DDP runs; Keras's
    `--devices N` is N GPUs under MirroredStrategy."""
    check_workers(config)
    if config.distribute and config.framework != "keras":
        raise UserError("--distribute is for --framework keras; for torch use --devices N --strategy ddp")
    if config.devices == 1 and config.num_nodes == 1 and config.strategy is None:
        return
    if config.framework == "keras" and config.num_nodes == 1 and config.strategy is None:
        from experiments.hardware import gpu_count

        gpus = gpu_count("keras") if config.accelerator != "cpu" else 0
        if config.devices > gpus:
            raise UserError(f"--devices {config.devices} for keras is that many GPUs (MirroredStrategy) but "
                            f"{gpus} are usable here; pass --devices {max(gpus, 1)}, or --distribute")
        return
    if config.framework != "torch":
        raise UserError("--num-nodes/--strategy are Lightning's (--framework torch); "
                        "for keras use --devices N (GPUs) or --distribute")
    if config.strategy not in (None, "ddp"):
        raise UserError(f"unknown strategy {config.strategy!r}; valid: ddp")
    import os

    from modules import backend

    torch = backend.torch()
    on_gpus = torch.cuda.is_available() and config.accelerator != "cpu"
    kind, available = ("GPUs", torch.cuda.device_count()) if on_gpus else ("CPU cores", os.cpu_count() or 1)
    if config.devices > available:
        raise UserError(f"--devices {config.devices} but this machine has {available} {kind}; "
                        f"pass --devices {available} or fewer")


def as_plan(run: RunPlan | TrainConfig) -> RunPlan:
    """`run` itself, or the plan of a TrainConfig (validated as it stands: no params.yaml)."""
    return run if isinstance(run, RunPlan) else plan_for(run)
