"""`nnlab best`: a study's best trial(s), retrained on train+val and scored on test."""
from __future__ import annotations

from experiments.cli import positive_int, registered_model_name

ORDER = 31


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("best", help="a study's best trial(s); retrain the best on train+val")
    p.add_argument("--study", required=True, help="study name (see nnlab tune)")
    p.add_argument("--storage", help="Optuna storage URL (default: the default storage holding the study)")
    p.add_argument("--trial", type=int, help="retrain this trial instead (e.g. one of a Pareto front)")
    p.add_argument("--no-retrain", action="store_true", help="only print the best trial(s)")
    p.add_argument("--compare", metavar="STUDY",
                   help="print this study next to another (trials, epochs trained, best value)")
    p.add_argument("--quiet", action="store_true", help="no training progress")
    p.add_argument("--register", metavar="MODEL", type=registered_model_name,
                   help="register the retrained model as a new version of MODEL, alias champion")
    p.add_argument("--top", type=positive_int, default=5, help="Pareto-front trials to print (default 5)")


def run(args) -> int:
    from experiments.tune import best as tune_best
    from modules.errors import UserError

    study = tune_best.load_study(args.study, args.storage)
    if args.compare:
        print(tune_best.compare(study, tune_best.load_study(args.compare, args.storage)))
    keys = tune_best.objective_keys(study)
    best = tune_best.best_trials(study)
    title = "best trial" if len(best) == 1 else f"Pareto front ({len(best)} trials; first {min(args.top, len(best))})"
    print(f"study {study.study_name}: {title}")
    for trial in best[:args.top]:
        print(tune_best.describe(trial, keys))
    if args.no_retrain:
        return 0
    chosen = best[0]
    if args.trial is not None:
        chosen = next((t for t in study.get_trials(deepcopy=False) if t.number == args.trial), None)
        if chosen is None or chosen.state.name != "COMPLETE":
            raise UserError(f"study {args.study!r} has no complete trial {args.trial}")
    summary = tune_best.refit(study, chosen, quiet=args.quiet, register=args.register)
    shown = "  ".join(f"{k} {v:.4f}" for k, v in summary.items() if k.startswith("test/"))
    print(f"trial {chosen.number} retrained on train+val ({summary['framework']} {summary['arch']}, "
          f"{summary['epochs']} epochs): {shown}")
    print(f"MLflow run {summary['run_id']} (tag optuna.study={study.study_name})")
    if "registered_model" in summary:
        print(f"registered models:/{summary['registered_model']}@{summary['model_alias']} "
              f"(version {summary['model_version']})")
    return 0
