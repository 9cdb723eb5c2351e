"""A finished study's answer (`nnlab best`): its best trial(s), retrained on train+val.

The retrained run is a normal `nnlab train` run (its own MLflow run, not nested)
linked to the study by tags (`optuna.study`, `optuna.best_trial`,
`study_run_id`); the study's run gets `refit.run_id` and the refit's test metrics.
"""
from __future__ import annotations

from experiments.tune import storage as tune_storage, tracking as tune_tracking
from modules.errors import UserError


def load_study(name: str, storage_url: str | None):
    """Load study `name` from `storage_url`, or from whichever default storage holds it."""
    import optuna

    from experiments.tune.study import quiet_optuna

    quiet_optuna()
    url = storage_url or tune_storage.default_url(1, name)
    storage = tune_storage.open_storage(url)
    if name not in tune_storage.study_names(storage):
        known = ", ".join(tune_storage.study_names(storage)) or "(none)"
        raise UserError(f"no study {name!r} in {tune_storage.redact(url)} (studies there: {known}); "
                        f"run `nnlab tune --study {name} ...` first or pass --storage")
    return optuna.load_study(study_name=name, storage=storage)


def objective_keys(study) -> list[str]:
    keys = [part.split(":")[0].strip() for part in study.user_attrs.get("objective", "value").split(",")]
    return keys if len(keys) == len(study.directions) else [f"value{i}" for i in range(len(study.directions))]


def best_trials(study) -> list:
    """The best trial (one objective) or the Pareto front, best first by the first objective."""
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        raise UserError(f"study {study.study_name!r} has no complete trial yet; run nnlab tune on it")
    if len(study.directions) == 1:
        return [study.best_trial]
    sign = -1 if study.directions[0].name == "MAXIMIZE" else 1
    return sorted(study.best_trials, key=lambda t: sign * t.values[0])


def study_figures(study) -> dict:
    """Counts, training epochs spent and best value of `study` (for comparisons)."""
    from experiments.tune.objective import budget_used

    trials = study.get_trials(deepcopy=False)
    figures = {"trials": budget_used(study)[0],
               **{s: sum(t.state.name == s for t in trials) for s in ("COMPLETE", "PRUNED", "FAIL")},
               "epochs_trained": tune_tracking.epochs_trained(trials)}
    if len(study.directions) == 1 and figures["COMPLETE"]:
        figures["best_value"] = study.best_value
    return figures


def compare(study, other) -> str:
    """Two studies side by side: trials, epochs spent, best value, and what pruning saved."""
    a, b = study_figures(study), study_figures(other)
    lines = [f"{'':<16} {study.study_name:>20} {other.study_name:>20}"]
    for key in ("trials", "COMPLETE", "PRUNED", "FAIL", "epochs_trained", "best_value"):
        fmt = (lambda v: f"{v:.4f}") if key == "best_value" else str
        lines.append(f"{key.lower():<16} {fmt(a.get(key, float('nan'))):>20} {fmt(b.get(key, float('nan'))):>20}")
    if b["epochs_trained"]:
        saved = 1 - a["epochs_trained"] / b["epochs_trained"]
        lines.append(f"{study.study_name} trained {saved:.0%} fewer epochs than {other.study_name}")
    if "best_value" in a and "best_value" in b:
        lines.append(f"best value difference: {abs(a['best_value'] - b['best_value']):.4f}")
    return "\n".join(lines)


def describe(trial, keys: list[str]) -> str:
    values = ", ".join(f"{k} {v:.4f}" for k, v in zip(keys, trial.values))
    params = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
    return f"trial {trial.number}: {values}\n    {params}"


def plan_of(study, trial, quiet: bool = False):
    """The run plan trial `trial` trained, rebuilt from its parameters and the study's settings,
    to refit on train+val (params.yaml, e.g. its `data.split_seed`, as the trial read it)."""
    from experiments.tune.recipe import SEARCHABLE, SETTINGS_ATTR
    from experiments.tune.space import SearchSpace
    from modules import registry

    params = dict(trial.params)
    arch = registry.get(params["arch"])
    epochs = params.get("epochs") or study.user_attrs["epochs"][0]  # a fixed --epochs is no dimension
    space = SearchSpace(data=study.user_attrs["data"], archs=[arch.name], frameworks=[params["framework"]],
                        epochs=(epochs, epochs), image_size=study.user_attrs.get("image_size"),
                        seed=int(study.user_attrs["seed"]),
                        settings=dict(study.user_attrs.get(SETTINGS_ATTR, {})))  # the study's recipe
    searched = {key: params[key] for key in SEARCHABLE if key in params}
    hparams = {}
    for key, param in arch.space.items():
        value = params.get(f"{arch.name}.{key}")
        if value is None:
            continue
        by_text = {str(c): c for c in param.choices} if param.kind == "categorical" else {}
        hparams[key] = by_text.get(value, value) if isinstance(value, str) else value
    return space.plan(params["framework"], arch, int(epochs), hparams, batch_size=int(params["batch_size"]),
                      lr=float(params["lr"]), optimizer=params["optimizer"], **searched,
                      experiment=study.user_attrs.get("experiment"), train_on_val=True, quiet=quiet)


def refit(study, trial, quiet: bool = False, register: str | None = None) -> dict:
    """Retrain `trial`'s configuration on train+val; a normal train run tagged with the study.
    `register`: add its MLflow Model to that registered model, alias `champion`."""
    from experiments.mlflow_model import CHAMPION
    from experiments.train import train

    plan = plan_of(study, trial, quiet)
    study_run_id = study.user_attrs.get(tune_tracking.STUDY_RUN_ATTR, "")
    tags = {"optuna.study": study.study_name, "optuna.best_trial": trial.number, "study_run_id": study_run_id,
            "refit": "train+val"}
    summary = train(plan, progress=(lambda *a: None) if quiet else print, tags=tags, register=register,
                    alias=CHAMPION)
    if study_run_id:
        from experiments import tracking

        run = tracking.TrackedRun(tracking.client(), study_run_id)
        run.set_tags({"refit.run_id": summary["run_id"], "refit.trial": trial.number})
        run.log_metrics({f"refit/{k}": v for k, v in summary.items() if k.startswith("test/")})
    return summary
