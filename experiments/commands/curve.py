"""`nnlab curve`: a learning curve, test accuracy against training images, in both frameworks."""
from __future__ import annotations

import argparse

from experiments.cli import (
    add_data_options,
    add_lr_schedule_option,
    add_network_options,
    add_recipe_options,
    positive_float,
    positive_int,
    recipe_settings,
    seed,
)

ORDER = 62
DEFAULT_OUT = "reports/curves"


def comma_list(text: str, item, what: str) -> list[int]:
    """The comma-separated values of `text`, each parsed by `item`, sorted, each once."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or not all(parts):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}, got {text!r}")
    return sorted({item(p) for p in parts})


def train_sizes(text: str) -> list[int]:
    """argparse type: training-set sizes, e.g. `1000,2000,3600`."""
    return comma_list(text, positive_int, "positive integers")


def seeds(text: str) -> list[int]:
    """argparse type: seeds, e.g. `0,1`."""
    return comma_list(text, seed, "seeds")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("curve", help="a learning curve: test accuracy vs training images, "
                              "one run per framework, size and seed")
    p.add_argument("--arch", required=True, help="a classifier (see nnlab list)")
    p.add_argument("--data", help="dataset (default: the architecture's default data)")
    p.add_argument("--train-sizes", type=train_sizes, required=True, metavar="N,N,...",
                   help="training-set sizes (each a stratified --data-option train_size), e.g. 1000,2000,3600")
    p.add_argument("--frameworks", default="torch,keras", help="comma-separated (default: torch,keras)")
    p.add_argument("--seeds", type=seeds, default=[0], metavar="S,S,...",
                   help="training seeds per size; the plot shows their mean and min-max (default: 0)")
    p.add_argument("--epochs", type=positive_int, help="epochs of every run (default: the architecture's)")
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=positive_float, help="learning rate")
    p.add_argument("--optimizer", help="adam, adamw, sgd or rmsprop")
    add_lr_schedule_option(p)
    p.add_argument("--image-size", type=positive_int, help="resize image data to N x N")
    p.add_argument("--data-dir", help="folder holding the dataset's files (e.g. Fashion-MNIST IDX files)")
    p.add_argument("--limit-batches", type=positive_int, metavar="N",
                   help="debug: at most N batches of each split per epoch")
    p.add_argument("--experiment", help="MLflow experiment (default: the dataset's name)")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"folder of <data>-<arch>.csv, .md and .png (default: {DEFAULT_OUT})")
    add_network_options(p)
    add_data_options(p)
    add_recipe_options(p)


def run(args) -> int:
    from experiments.config import FRAMEWORKS
    from experiments.curve import markdown, plan_points, run_curve
    from experiments.files import check_output_path
    from modules import backend
    from modules.errors import UserError

    frameworks = list(dict.fromkeys(f.strip() for f in args.frameworks.split(",") if f.strip()))
    unknown = [f for f in frameworks if f not in FRAMEWORKS]
    if unknown:
        raise UserError(f"--frameworks: unknown {', '.join(map(repr, unknown))}; valid: {', '.join(FRAMEWORKS)}")
    given = {"arch": args.arch, "data": args.data, "epochs": args.epochs, "batch_size": args.batch_size,
             "lr": args.lr, "optimizer": args.optimizer, "lr_schedule": args.lr_schedule,
             "image_size": args.image_size, "data_dir": args.data_dir,
             "limit_batches": args.limit_batches, "experiment": args.experiment, "preset": args.preset,
             "hparams": dict(args.hparams), "data_options": dict(args.data_options), "quiet": True,
             **recipe_settings(args)}
    plans = plan_points(given, args.train_sizes, frameworks, args.seeds)  # every run checked, none trained
    check_output_path(f"{args.out}/curve.csv")
    if frameworks == ["keras"]:  # this process trains Keras alone: no torch side to load
        backend.keras_alone()
    rows = run_curve(plans, args.out)
    first = plans[0]
    print()
    print(markdown(rows, f"{first.arch.name} on {first.data.name}"))
    print(f"wrote {args.out}/{first.data.name}-{first.arch.name}.csv, .md, .png")
    return 0
