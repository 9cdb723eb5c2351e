"""A study's training recipe and hardware: the settings every trial trains with (`nnlab tune
--weight-decay ... --precision ...`, the flags of `nnlab train`) and the recipe settings it searches
(`--search weight_decay,label_smoothing`).

Both are checked once, before the study starts, by the checks `nnlab train` makes
(`experiments.recipes.check_recipe`, `experiments.hardware.check_hardware`) for every framework and
optimizer the study may draw, so a bad value is one line and exit 2, not a study of failed trials.
They are kept in the study's user attributes (`SETTINGS_ATTR`, `SEARCH_ATTR`), from which
`nnlab best` refits. docs/tuning.md#training-recipes-in-a-study.
"""
from __future__ import annotations

from experiments.config import RECIPE_OFF, TrainConfig
from modules.errors import UserError
from modules.optim import OPTIMIZERS, Regularization
from modules.registry import Param

# recipe settings a study can search (TrainConfig names), each drawn only in the trials whose
# optimizer takes it: weight_decay (coupled L2) in adam, sgd and rmsprop trials, AdamW's
# decoupled_weight_decay in adamw trials (docs/recipes.md)
SEARCHABLE: dict[str, Param] = {
    "weight_decay": Param("float", 1e-6, 1e-2, log=True),
    "decoupled_weight_decay": Param("float", 1e-4, 1e-1, log=True),
    "label_smoothing": Param("float", 0.0, 0.2),
}
# the settings that make a trial's result: a resumed study must be given the same ones (the
# hardware, `accelerator`, `precision`, `force_precision`, may differ between the hosts of a study)
RECIPE_KEYS = ("lr_schedule", *RECIPE_OFF)
REGULARIZATION_KEYS = ("weight_decay", "decoupled_weight_decay", "momentum", "nesterov")
SETTINGS_ATTR = "train_settings"  # study user attr: the TrainConfig settings every trial trains with
SEARCH_ATTR = "search"  # study user attr: the recipe settings searched


def flag(key: str) -> str:
    """The command-line flag of a TrainConfig setting: `weight_decay` -> `--weight-decay`."""
    return "--" + key.replace("_", "-")


def optimizers_taking(key: str) -> list[str]:
    """The optimizers a regularization setting applies to, as `Regularization.check` decides."""
    probe = True if key == "nesterov" else 0.5  # a value in range for every one of them
    takers = []
    for name in OPTIMIZERS:
        try:
            Regularization(**{key: probe}).check(name)
        except UserError:
            continue
        takers.append(name)
    return takers


def applies(key: str, optimizer: str) -> bool:
    """Whether a trial with `optimizer` draws the searched setting `key`."""
    return key not in REGULARIZATION_KEYS or optimizer in optimizers_taking(key)


def check_study_settings(settings: dict, search: list[str], data: str, frameworks: list[str],
                         optimizers: list[str], epochs: int) -> None:
    """`settings` (TrainConfig names, given ones only) and `search` hold for every trial of a study
    over `frameworks` x `optimizers` on `data` with at least `epochs` epochs; else a UserError."""
    import datamodules
    from experiments.hardware import check_hardware
    from experiments.recipes import check_recipe
    from modules.optim import check_lr_schedule

    info = datamodules.get_info(data)
    for key in search:
        if key not in SEARCHABLE:
            raise UserError(f"--search {key!r} is not a searchable training setting; valid: {', '.join(SEARCHABLE)}")
        if key in settings:
            raise UserError(f"{flag(key)} fixes what --search {key} searches; give one of them")
        takers = optimizers_taking(key) if key in REGULARIZATION_KEYS else optimizers
        if not set(takers) & set(optimizers):
            raise UserError(f"--search {key} applies to {', '.join(takers)}, which --optimizers "
                            f"{','.join(optimizers)} leaves out: add one of them")
        if key == "label_smoothing" and info.task != "classify":
            raise UserError(f"--search label_smoothing is for classification; {data} is {info.task} data")
    for key in REGULARIZATION_KEYS:
        if settings.get(key, RECIPE_OFF[key]) == RECIPE_OFF[key]:
            continue
        takers = optimizers_taking(key)
        if set(optimizers) - set(takers):
            keep = [o for o in optimizers if o in takers] or takers
            raise UserError(f"{flag(key)} applies to {', '.join(takers)} only and this study searches "
                            f"{', '.join(optimizers)}: add --optimizers {','.join(keep)}")
    if "lr_schedule" in settings:
        check_lr_schedule(settings["lr_schedule"])
    for framework in frameworks:
        for optimizer in optimizers:
            config = TrainConfig(framework=framework, data=info.name, optimizer=optimizer, epochs=epochs,
                                 **settings)
            check_recipe(config, info.task, info)
            check_hardware(config)


def check_resumed(study_name: str, recorded: dict, recorded_search: list, settings: dict, search: list) -> None:
    """A resumed study is given the recipe it was created with (UserError naming it otherwise)."""
    def recipe(given: dict) -> dict:
        return {k: given[k] for k in RECIPE_KEYS if k in given}

    if recipe(recorded) != recipe(settings) or sorted(recorded_search) != sorted(search):
        was = " ".join([*setting_flags(recipe(recorded)), *(["--search", ",".join(recorded_search)]
                                                              if recorded_search else [])]) or "no recipe flags"
        raise UserError(f"study {study_name!r} trains with {was}; pass the same, or a new --study name")


def setting_flags(settings: dict) -> list[str]:
    """`settings` as `nnlab tune` flags (for `--jobs` workers, and messages)."""
    argv = []
    for key, value in settings.items():
        if value is True:
            argv.append(flag(key))
        elif value is not None and value is not False:
            argv += [flag(key), str(value)]
    return argv
