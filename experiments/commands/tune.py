"""`nnlab tune`: an Optuna study over architectures, frameworks and their settings."""
from __future__ import annotations

from experiments.cli import (
    add_hardware_options,
    add_lr_schedule_option,
    add_recipe_options,
    hardware_settings,
    non_negative_float,
    positive_float,
    positive_int,
    recipe_settings,
    seed,
)

ORDER = 30


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("tune", help="search architectures, frameworks and settings with Optuna",
                              description="Run, resume or join an Optuna study. Every trial is an "
                              "`nnlab train` run nested under the study's MLflow run.")
    p.add_argument("--study", help="study name (the same name again resumes it); required unless --show-space")
    p.add_argument("--data", required=True, help="dataset name (see nnlab list)")
    p.add_argument("--archs", help="comma-separated architectures (default: all for the data's task)")
    p.add_argument("--family", help="every architecture of one family (cnn, rnn, ...)")
    p.add_argument("--frameworks", default="torch,keras", help="comma-separated: torch,keras (default both)")
    p.add_argument("--optimizers", help="comma-separated optimizers the study draws from "
                   "(default all: adam, adamw, sgd, rmsprop)")
    p.add_argument("--trials", type=positive_int, default=20,
                   help="the study's budget of finished trials, counting earlier runs (default 20)")
    p.add_argument("--timeout", type=positive_float, help="stop starting trials after S seconds")
    p.add_argument("--objective", default="val/acc",
                   help="val/acc (default), or several for a Pareto front: val/acc,n_params")
    p.add_argument("--sampler", default="tpe", help="tpe (default), random or nsga2")
    p.add_argument("--pruner", default="median", help="median (default), asha (successive halving), hyperband or none")
    p.add_argument("--storage", help="Optuna storage URL (default sqlite:///mlruns/optuna.db; "
                   "journal:FILE; postgresql://user:pass@host/db for several hosts)")
    p.add_argument("--jobs", type=positive_int, default=1, help="worker processes on this host")
    p.add_argument("--epochs", help="epochs per trial: N (fixed) or LOW-HIGH (searched; default 5-20)")
    p.add_argument("--image-size", type=positive_int, help="resize images to N x N for every trial")
    p.add_argument("--early-stop", type=positive_int, metavar="PATIENCE",
                   help="stop a trial after PATIENCE epochs without a lower val/loss (pruning still applies)")
    p.add_argument("--min-delta", type=non_negative_float, metavar="X",
                   help="with --early-stop: the least change that counts as an improvement (default 0)")
    p.add_argument("--limit-batches", type=positive_int, metavar="N",
                   help="debug: at most N batches of each split per epoch in every trial")
    p.add_argument("--seed", type=seed, default=0, help="seed of the sampler and of every trial")
    # the training recipe and hardware of every trial: `nnlab train`'s flags (docs/tuning.md)
    add_lr_schedule_option(p)
    add_recipe_options(p)
    p.add_argument("--search", metavar="SETTINGS",
                   help="also search these recipe settings, comma-separated: weight_decay (log, adam/sgd/"
                   "rmsprop trials), decoupled_weight_decay (adamw trials), label_smoothing (ranges: --show-space)")
    add_hardware_options(p)
    p.add_argument("--experiment", help="MLflow experiment (default: the dataset's name)")
    p.add_argument("--show-space", action="store_true", help="print the search space and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-trial lines")
    p.add_argument("--out", help="also write best.json and trials.csv into this folder (the DVC tune stage)")
    p.add_argument("--worker-of", help=argparse_suppress())
    p.add_argument("--worker-index", type=int, default=0, help=argparse_suppress())


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def names(text: str | None, flag: str) -> list[str] | None:
    """`a,b` -> ["a", "b"]; a flag given but empty is a user error."""
    from modules.errors import UserError

    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise UserError(f"{flag} is empty; name at least one (see nnlab list)")
    return items


def storage_url(args) -> str | None:
    """`--storage`, or in a `--jobs` worker the URL its parent put in the environment."""
    import os

    from experiments.tune.storage import WORKER_URL_ENV

    return args.storage or (os.environ.get(WORKER_URL_ENV) if args.worker_of else None)


def run(args) -> int:
    import datamodules
    from experiments.tune.options import TuneOptions
    from experiments.tune.space import SearchSpace, parse_epochs
    from experiments.tune.study import run_study
    from modules.errors import UserError

    datamodules.get_info(args.data)  # an unknown dataset is one line, before anything loads
    if not args.study and not args.show_space:
        raise UserError("--study NAME is required (the same name again resumes the study)")
    settings = {key: value for key, value in {"lr_schedule": args.lr_schedule, **recipe_settings(args),
                                              **hardware_settings(args)}.items() if value is not None}
    options = TuneOptions(study=args.study or "show-space", data=args.data, archs=names(args.archs, "--archs"),
                          family=args.family, frameworks=names(args.frameworks, "--frameworks"),
                          optimizers=names(args.optimizers, "--optimizers"), settings=settings,
                          search=names(args.search, "--search"),
                          trials=args.trials, timeout=args.timeout, objective=args.objective,
                          sampler=args.sampler, pruner=args.pruner, storage=storage_url(args), jobs=args.jobs,
                          seed=args.seed, epochs=args.epochs, image_size=args.image_size,
                          early_stop=args.early_stop, min_delta=args.min_delta,
                          limit_batches=args.limit_batches, experiment=args.experiment,
                          quiet=args.quiet, worker_of=args.worker_of, worker_index=args.worker_index)
    space = SearchSpace.build(args.data, archs=options.archs, family=options.family,
                              frameworks=options.frameworks, optimizers=options.optimizers,
                              epochs=parse_epochs(args.epochs), image_size=args.image_size, seed=args.seed,
                              controls={"early_stop": args.early_stop, "min_delta": args.min_delta,
                                        "limit_batches": args.limit_batches},
                              settings=settings, search=tuple(options.search or ()))
    if args.show_space:
        print(space.describe())
        return 0
    summary = run_study(options, space, say=(lambda *a: None) if args.quiet else print)
    if args.out and summary:
        write_outputs(summary, options, args.out)
    if args.quiet and summary and not args.worker_of:  # --quiet still says how the study ended
        print(quiet_line(options, summary))
    return 0


def quiet_line(options, summary: dict) -> str:
    """The one line `nnlab tune --quiet` prints: the study, its best value and trial, the trials."""
    if "best_value" in summary:
        best = f"best {options.keys[0]} {summary['best_value']:.4f} (trial {summary['best_trial']})"
    elif "pareto_front" in summary:
        best = f"Pareto front: trials {', '.join(map(str, summary['pareto_front']))}"
    else:
        best = "no trial completed"
    return f"study {options.study}: {best}; {summary['counted']} trials ({summary['states']})"


def write_outputs(summary: dict, options, folder: str) -> None:
    """best.json (DVC metrics) and trials.csv of the study, written atomically."""
    import json
    from pathlib import Path

    import optuna

    from experiments.files import write_metrics_json
    from experiments.tune import storage as tune_storage

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    storage = tune_storage.open_storage(summary["storage"])
    study = optuna.load_study(study_name=options.study, storage=storage)
    frame = study.trials_dataframe()
    tmp = out / ".trials.csv.tmp"
    frame.to_csv(tmp, index=False)
    tmp.replace(out / "trials.csv")
    best = {k: summary.get(k) for k in ("best_value", "best_trial", "best_params", "pareto_front",
                                        "counted", "epochs_trained", "n_trials") if k in summary}
    best.update(study=options.study, objective=options.objective, states=summary.get("states"))
    # numbers in best.json (a DVC metric); the study, objective, parameters in best.info.json
    write_metrics_json(out / "best.json", json.loads(json.dumps(best, default=str)))
