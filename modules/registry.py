"""The architecture registry: name -> task, family, builders, hyperparameters.

Entries are framework-free, so `nnlab list` answers without importing torch or
TensorFlow. Each entry names its family folder (`module`): `modules/<module>/spec.py`
registers the entries (and holds the framework-free tables), `torch_net.py` and
`keras_net.py` beside it hold the twin builders under the same function name and keyword
arguments. A builder takes `(input_shape, num_classes, **hparams)` and has no
hyperparameter defaults of its own: the entry's `defaults` (the small-image network the lab
trains) and its named `presets` (e.g. `paper`, the published network) are the only place
they are written.
"""
from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from modules.errors import UserError

FRAMEWORKS = ("torch", "keras")
# The task names, owned here because `register` validates them and `modules/` never imports
# `experiments/`; `experiments.tasks.TASKS` maps each to its folder (tests/test_tasks.py checks).
TASKS = ("classify", "reconstruct", "generate", "forecast", "translate")
DEFAULT_PRESET = "default"  # the entry's own defaults: the network the lab trains on small images


class RegistryError(UserError):
    """A name that is unknown, or registered twice."""


@dataclass(frozen=True)
class Param:
    """One tunable hyperparameter: a range or a set of choices for Optuna."""

    kind: str  # "int" | "float" | "categorical" | "bool"
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    log: bool = False
    step: int | None = None
    bounds: tuple | None = None  # what is valid at all (low..high is only what a search tries)

    def validate(self, name: str, value: Any) -> None:
        """Raise UserError naming the constraint when `value` is not valid."""
        if self.kind == "categorical" and value not in self.choices:
            valid = ", ".join(map(str, self.choices))
            raise UserError(f"{name}={value!r} is not valid; choose one of: {valid}")
        if self.bounds is not None and not (self.bounds[0] <= value <= self.bounds[1]):
            raise UserError(f"{name}={value!r} is outside the valid range "
                            f"[{self.bounds[0]}, {self.bounds[1]}]")


@dataclass(frozen=True)
class Architecture:
    """A registered network, buildable in both frameworks."""

    name: str
    task: str
    family: str
    module: str
    default_data: str
    defaults: dict = field(default_factory=dict)
    space: dict[str, Param] = field(default_factory=dict)
    builder: str | None = None  # function name in both framework modules; defaults to `name`
    min_input_size: int | None = None  # smallest image side the network accepts
    default_image_size: int | None = None  # image side used with `default_data` when none is given
    # training settings this network needs (e.g. {"epochs": 30, "lr": 0.01}); they override
    # params.yaml's general defaults, and the command line overrides them
    train_defaults: dict = field(default_factory=dict)
    paper: str = ""
    # `fn(input_shape, num_classes, batch, seed) -> tuple of arrays`, the network's inputs (the
    # same arrays in both frameworks) for `parity`; None: one random float batch of input_shape
    parity_inputs: Callable | None = None
    # named hyperparameter sets over `defaults`, e.g. {"paper": {"width": 1.0, ...}}; `nnlab list`
    # shows them and `--preset NAME` selects one (the command line's `--set` still wins)
    presets: dict[str, dict] = field(default_factory=dict)
    # the paper's own test accuracy of this network on `default_data`, by the `--data-option`s it was
    # trained with ("" for none, else "key=value,..." sorted): `nnlab zoo` prints it beside the runs
    published: dict[str, float] = field(default_factory=dict)
    # `fn(hparams) -> hparams`: checks what one range per key cannot (e.g. the mlp's `widths` text,
    # "256-128-100") and returns the values in their one written form; raises UserError naming the fix
    check_hparams: Callable[[dict], dict] | None = None

    @property
    def builder_name(self) -> str:
        return self.builder or self.name

    def preset(self, name: str | None) -> dict:
        """The hyperparameters preset `name` sets ({} for None or `DEFAULT_PRESET`)."""
        if name in (None, DEFAULT_PRESET):
            return {}
        if name not in self.presets:
            valid = ", ".join([DEFAULT_PRESET, *self.presets])
            raise UserError(f"{self.name} has no preset {name!r}; valid: {valid}")
        return dict(self.presets[name])

    def hyperparameters(self, overrides: dict | None = None, preset: str | None = None) -> dict:
        """Defaults, then preset `preset`, then `overrides`: type-coerced and checked against
        the space."""
        merged = dict(self.defaults)
        for key, value in {**self.preset(preset), **(overrides or {})}.items():
            if key not in self.defaults:
                valid = ", ".join(sorted(self.defaults)) or "(none)"
                raise UserError(f"{self.name} has no hyperparameter {key!r}; valid: {valid}")
            try:
                merged[key] = _coerce(value, self.defaults[key])
            except ValueError as err:
                raise UserError(f"{self.name}: bad value for {key}: {err}") from None
            if key in self.space:
                self.space[key].validate(key, merged[key])
        return self.check_hparams(merged) if self.check_hparams else merged

    def build(self, framework: str, input_shape: tuple, num_classes: int, preset: str | None = None,
              **hparams):
        """Build the network for `framework` ("torch" or "keras")."""
        return builder_for(self, framework)(input_shape=tuple(input_shape), num_classes=num_classes,
                                            **self.hyperparameters(hparams, preset))


def _coerce(value: Any, default: Any) -> Any:
    """Give a CLI string the type of the default it replaces."""
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    if isinstance(default, bool):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {value!r}")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, (tuple, list)):  # "1,2" from the CLI, "(1, 2)" from an MLflow param
        parts = [v.strip() for v in value.strip("()[] ").split(",") if v.strip()]
        return tuple(int(v) if v.lstrip("-").isdigit() else float(v) for v in parts)
    return value


_REGISTRY: dict[str, Architecture] = {}
_LOADED = False


def register(arch: Architecture) -> Architecture:
    """Add `arch` to the registry; a name registered twice is an error."""
    if arch.name in _REGISTRY:
        raise RegistryError(f"architecture {arch.name!r} is registered twice")
    if arch.task not in TASKS:
        raise RegistryError(f"{arch.name}: unknown task {arch.task!r}")
    _REGISTRY[arch.name] = arch
    return arch


def _load_catalog() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import modules

    for info in pkgutil.iter_modules(modules.__path__):
        if info.ispkg and (Path(modules.__path__[0]) / info.name / "spec.py").is_file():
            importlib.import_module(f"modules.{info.name}.spec")


def get(name: str) -> Architecture:
    """The architecture called `name`; an unknown name lists the valid ones."""
    _load_catalog()
    if name not in _REGISTRY:
        raise RegistryError(f"unknown architecture {name!r}; valid: {', '.join(names())}")
    return _REGISTRY[name]


def names(pattern: str = "*", *, task: str | None = None, family: str | None = None) -> list[str]:
    """Registered names matching a glob `pattern`, optionally one task or family."""
    _load_catalog()
    return sorted(n for n, a in _REGISTRY.items()
                  if fnmatch.fnmatch(n, pattern) and (task is None or a.task == task)
                  and (family is None or a.family == family))


def all_architectures() -> list[Architecture]:
    """Every registered architecture, sorted by family then name."""
    _load_catalog()
    return sorted(_REGISTRY.values(), key=lambda a: (a.family, a.name))


def builder_for(arch: Architecture, framework: str) -> Callable:
    """The builder function of `arch` in `framework`, importing that framework lazily."""
    if framework not in FRAMEWORKS:
        raise RegistryError(f"unknown framework {framework!r}; valid: {', '.join(FRAMEWORKS)}")
    from modules import backend

    backend.torch() if framework == "torch" else backend.keras()
    module = importlib.import_module(f"modules.{arch.module}.{framework}_net")
    return getattr(module, arch.builder_name)


def create(name: str, framework: str, input_shape: tuple, num_classes: int, preset: str | None = None,
           **hparams):
    """Build the registered network `name` in `framework`."""
    return get(name).build(framework, input_shape, num_classes, preset, **hparams)
