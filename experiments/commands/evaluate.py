"""`nnlab evaluate`: reload a logged (or given) model safely and score its test split."""
from __future__ import annotations

from experiments.cli import add_network_options, positive_int

ORDER = 25


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="reload a trained model safely and score the test split")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="an MLflow run id of `nnlab train`")
    source.add_argument("--model", help="a model file (model.pt state dict or model.keras)")
    p.add_argument("--arch", help="with --model: the architecture")
    p.add_argument("--framework", help="with --model: torch or keras")
    p.add_argument("--data", help="with --model: the dataset (default: the architecture's)")
    p.add_argument("--image-size", type=positive_int)
    add_network_options(p, "with --model: an architecture")


def run(args) -> int:
    from pathlib import Path

    from experiments import evaluate
    from experiments.plan import resolve
    from modules.errors import UserError

    if args.run:
        metrics, logged = evaluate.evaluate_run(args.run)
    else:
        if not (args.arch and args.framework):
            raise UserError("--model needs --arch and --framework (and --data, --preset, --set as trained)")
        plan = resolve({"framework": args.framework, "arch": args.arch, "data": args.data,
                        "image_size": args.image_size, "preset": args.preset, "hparams": dict(args.hparams),
                        "quiet": True})
        metrics, logged = evaluate.evaluate(plan, Path(args.model)), {}
    for key, value in metrics.items():
        was = f"   (logged {logged[key]:.4f})" if key in logged else ""
        print(f"{key} {value:.4f}{was}")
    return 0
