"""The search space of a study, read from the registry.

Framework and architecture are dimensions themselves; the shared training
settings (learning rate, batch size, optimizer, epochs) apply to every trial;
an architecture's own hyperparameters (its registry `space`) are suggested only
when a trial picks that architecture, under the name `<arch>.<param>`; recipe
settings a study searches (`experiments.tune.recipe.SEARCHABLE`) only when the
trial's optimizer takes them. Nothing here names an architecture: a network
registered tomorrow is searched the day it is registered.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from experiments.controls import higher_is_better
from experiments.tune.recipe import SEARCHABLE, applies, check_study_settings
from modules.errors import UserError
from modules.optim import OPTIMIZERS, optimizer_settings
from modules.registry import FRAMEWORKS, Param

# The settings every trial draws, whatever the architecture.
SHARED_SPACE: dict[str, Param] = {
    "lr": Param("float", 1e-4, 3e-2, log=True),
    "batch_size": Param("categorical", choices=(32, 64, 128)),
    "optimizer": Param("categorical", choices=tuple(OPTIMIZERS)),
}
DEFAULT_EPOCHS = (5, 20)

# Which way an objective is better: `experiments.controls.higher_is_better` (one table for
# objectives and `--select-best`); a metric it does not know may be given an explicit
# direction suffix, e.g. `val/f1:max`.
MINIMIZE_KEYS = ("n_params", "train_time_s")


@dataclass(frozen=True)
class Objective:
    """One value a study optimises: a metric of the trial's MLflow run, and its direction."""

    key: str
    direction: str  # "maximize" | "minimize"


def parse_objectives(text: str) -> list[Objective]:
    """`val/acc` or `val/acc,n_params` (or `key:max`/`key:min`) -> objectives, checked."""
    objectives = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, _, way = item.partition(":")
        if key.startswith("test/"):
            raise UserError(f"--objective {key}: tuning on the test split leaks it into the choice; "
                            f"use the validation metric ({'val/' + key[5:]})")
        if not (key.startswith(("val/", "train/")) or key in MINIMIZE_KEYS or key == "samples_per_s"):
            raise UserError(f"--objective {key!r} is not a metric a trial logs; use val/<metric>, "
                            f"train/<metric>, {', '.join(MINIMIZE_KEYS)} or samples_per_s")
        if way:
            if way not in ("max", "min"):
                raise UserError(f"--objective {item!r}: the direction is :max or :min, not :{way}")
            direction = "maximize" if way == "max" else "minimize"
        else:
            direction = "maximize" if higher_is_better(key) else "minimize"
        objectives.append(Objective(key, direction))
    if not objectives:
        raise UserError("--objective is empty; give a metric such as val/acc (or val/acc,n_params)")
    if len({o.key for o in objectives}) != len(objectives):
        raise UserError(f"--objective {text!r} names a metric twice")
    return objectives


def parse_epochs(text: str | None) -> tuple[int, int]:
    """`20` (fixed) or `5-30` (searched) -> (low, high)."""
    if text is None:
        return DEFAULT_EPOCHS
    low, _, high = str(text).partition("-")
    try:
        low_n, high_n = int(low), int(high or low)
    except ValueError:
        raise UserError(f"--epochs {text!r}: give a number (20) or a range (5-30)") from None
    if low_n <= 0 or high_n < low_n:
        raise UserError(f"--epochs {text!r}: epochs must be positive and the range low-high ascending")
    return low_n, high_n


def _data_kind(data: str) -> str | None:
    import datamodules

    try:
        return datamodules.get_info(data).kind
    except UserError:
        return None


def _primitive(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def suggest(trial, name: str, param: Param):
    """Ask `trial` for a value of `param` under `name` (Optuna's suggest_* by kind)."""
    if param.kind == "bool":
        return trial.suggest_categorical(name, (False, True))
    if param.kind == "categorical":
        if all(_primitive(c) for c in param.choices):
            return trial.suggest_categorical(name, tuple(param.choices))
        # Optuna stores only primitives: search over the choices' text, hand back the choice
        by_text = {str(c): c for c in param.choices}
        return by_text[trial.suggest_categorical(name, tuple(by_text))]
    if param.kind == "int":
        step = param.step or 1
        return trial.suggest_int(name, int(param.low), int(param.high), step=step,
                                 log=param.log and step == 1)
    if param.kind == "float":
        return trial.suggest_float(name, float(param.low), float(param.high), log=param.log)
    raise UserError(f"{name}: unknown parameter kind {param.kind!r} in the registry")


def describe_param(param: Param) -> str:
    """One line of text for `--show-space`."""
    if param.kind == "bool":
        return "bool        false, true"
    if param.kind == "categorical":
        return "categorical " + ", ".join(map(str, param.choices))
    scale = " (log)" if param.log else ""
    step = f" step {param.step}" if param.step and param.step != 1 else ""
    return f"{param.kind:<11} {param.low:g} .. {param.high:g}{scale}{step}"


@dataclass
class SearchSpace:
    """Frameworks x architectures x shared settings x each architecture's own space."""

    data: str
    archs: list[str]
    frameworks: list[str]
    epochs: tuple[int, int] = DEFAULT_EPOCHS
    image_size: int | None = None
    seed: int = 0
    shared: dict[str, Param] = field(default_factory=lambda: dict(SHARED_SPACE))
    # training controls every trial runs with (`nnlab tune --early-stop`), TrainConfig names
    controls: dict = field(default_factory=dict)
    # what every trial, and `nnlab best`'s refit, trains with: the recipe and hardware flags given
    # (`--weight-decay`, `--precision`, ...), TrainConfig names (experiments.tune.recipe)
    settings: dict = field(default_factory=dict)
    search: tuple = ()  # recipe settings searched (`--search`), keys of `recipe.SEARCHABLE`

    @classmethod
    def build(cls, data: str, archs: list[str] | None = None, family: str | None = None,
              frameworks: list[str] | None = None, optimizers: list[str] | None = None,
              **kw) -> "SearchSpace":
        """Resolve `--archs`/`--family` against the registry and `data`, `--optimizers`, and check
        the study's recipe and hardware settings; raise UserError if empty or invalid."""
        import datamodules
        from modules import registry

        task = datamodules.get_info(data).task
        if archs and family:
            raise UserError("give --archs or --family, not both")
        if archs:
            for name in archs:
                arch = registry.get(name)  # an unknown name lists the valid ones
                if arch.task != task:
                    raise UserError(f"{name} is a {arch.task} network and {data} is {task} data; "
                                    f"pick {task} architectures (nnlab list)")
            chosen = list(dict.fromkeys(archs))
        else:
            # networks made for this kind of data (images, sequences): their default data says so
            kind = datamodules.get_info(data).kind
            chosen = [n for n in registry.names(task=task, family=family)
                      if _data_kind(registry.get(n).default_data) in (kind, None)]
            if not chosen:
                families = sorted({a.family for a in registry.all_architectures() if a.task == task})
                what = f"family {family!r}" if family else "the registry"
                raise UserError(f"the search space is empty: {what} has no {task} architecture for {data}; "
                                f"families with one: {', '.join(families) or '(none)'}")
        frameworks = list(dict.fromkeys(frameworks or FRAMEWORKS))
        unknown = [f for f in frameworks if f not in FRAMEWORKS]
        if unknown or not frameworks:
            raise UserError(f"unknown framework {', '.join(unknown) or '(none)'} in --frameworks; "
                            f"valid: {', '.join(FRAMEWORKS)}")
        optimizers = list(dict.fromkeys(optimizers or OPTIMIZERS))
        for name in optimizers:
            optimizer_settings(name)  # an unknown name lists the valid ones
        space = cls(data=data, archs=chosen, frameworks=frameworks, **kw)
        space.shared["optimizer"] = Param("categorical", choices=tuple(optimizers))
        check_study_settings(space.settings, list(space.search), data, frameworks, optimizers, space.epochs[0])
        return space

    # --- what a trial draws ---------------------------------------------------------
    def dimensions(self) -> dict[str, Param]:
        """Every dimension by its Optuna name; conditional ones are `<arch>.<param>`."""
        from modules import registry

        dims = {"framework": Param("categorical", choices=tuple(self.frameworks)),
                "arch": Param("categorical", choices=tuple(self.archs)), **self.shared}
        if self.epochs[0] != self.epochs[1]:
            dims["epochs"] = Param("int", *self.epochs)
        for key in self.search:
            dims[key] = SEARCHABLE[key]
        for name in self.archs:
            for key, param in registry.get(name).space.items():
                dims[f"{name}.{key}"] = param
        return dims

    def image_size_for(self, arch) -> int | None:
        """The image side a trial of `arch` uses: --image-size, else what the network needs."""
        import datamodules

        if self.image_size:
            return self.image_size
        info = datamodules.get_info(self.data)
        if info.kind != "image" or not arch.min_input_size or info.shape[-1] >= arch.min_input_size:
            return None
        return max(arch.min_input_size, arch.default_image_size or 0)

    def suggest_plan(self, trial, experiment: str):
        """Draw one configuration from `trial`; return its validated run plan
        (`experiments.plan.resolve`: params.yaml < the architecture's defaults < the draw).

        An invalid combination raises UserError, which fails the trial (not the study).
        """
        from modules import registry

        framework = suggest(trial, "framework", Param("categorical", choices=tuple(self.frameworks)))
        arch = registry.get(suggest(trial, "arch", Param("categorical", choices=tuple(self.archs))))
        shared = {key: suggest(trial, key, param) for key, param in self.shared.items()}
        epochs = (suggest(trial, "epochs", Param("int", *self.epochs))
                  if self.epochs[0] != self.epochs[1] else self.epochs[0])
        recipe = {key: suggest(trial, key, SEARCHABLE[key]) for key in self.search
                  if applies(key, shared["optimizer"])}
        hparams = {key: suggest(trial, f"{arch.name}.{key}", param) for key, param in arch.space.items()}
        return self.plan(framework, arch, epochs, hparams, experiment=experiment, quiet=True, **shared,
                         **recipe, **self.controls)

    def plan(self, framework: str, arch, epochs: int, hparams: dict, **settings):
        """The run plan of one point of this space (a trial's draw, or a refit of it), with the
        study's recipe and hardware settings."""
        from experiments.plan import resolve

        return resolve({"framework": framework, "arch": arch.name, "data": self.data, "epochs": epochs,
                        "image_size": self.image_size_for(arch), "seed": self.seed, "hparams": hparams,
                        **self.settings, **settings}, source="a trial", arch_data_options=False)

    # --- what a user reads ------------------------------------------------------------
    def describe(self) -> str:
        """The space as text, one dimension a line (`nnlab tune --show-space`)."""
        lines = [f"search space on {self.data}: {len(self.archs)} architecture(s) x "
                 f"{len(self.frameworks)} framework(s)"]
        dims = self.dimensions()
        if "epochs" not in dims:
            lines.append(f"  {'epochs':<28} fixed       {self.epochs[0]}")
        for key, value in self.settings.items():
            lines.append(f"  {key:<28} fixed       {value}")
        optimizers = self.shared["optimizer"].choices
        for name, param in dims.items():
            only = [o for o in optimizers if applies(name, o)] if name in self.search else optimizers
            note = f"   ({', '.join(only)} trials)" if len(only) < len(optimizers) else ""
            lines.append(f"  {name:<28} {describe_param(param)}{note}")
        for name in self.archs:
            if not any(key.startswith(f"{name}.") for key in dims):
                lines.append(f"  {name + '.*':<28} (no tunable hyperparameters)")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """The space as plain data, for the study's MLflow run and the study's attributes."""
        return {name: describe_param(param) for name, param in self.dimensions().items()} | {
            "data": self.data, "epochs": f"{self.epochs[0]}-{self.epochs[1]}",
            "image_size": str(self.image_size)}
