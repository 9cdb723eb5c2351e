"""`nnlab`: the lab's command line.

Only argparse and the framework-free registries load at start-up; each command
imports torch, TensorFlow or MLflow when it runs, so `--help` and `list` answer
at once.
"""
from __future__ import annotations

import argparse
import json
import sys

from modules.errors import UserError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2), like every other user error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nnlab", description="Train, compare and tune the classic neural network "
                     "architectures in PyTorch Lightning and in Keras, tracked in MLflow.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    listing = commands.add_parser("list", help="architectures and datasets")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument("--refresh", action="store_true",
                         help="rebuild every architecture in both frameworks to recount parameters")

    train = commands.add_parser("train", help="train one architecture in one framework")
    train.add_argument("--framework", default=None, help="torch or keras (default: params.yaml, else torch)")
    train.add_argument("--arch", required=True, help="architecture name (see nnlab list)")
    train.add_argument("--data", help="dataset name (default: the architecture's default data)")
    train.add_argument("--epochs", type=_positive_int)
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--lr", type=_positive_float, help="learning rate")
    train.add_argument("--optimizer", help="adam, adamw, sgd or rmsprop")
    train.add_argument("--seed", type=int)
    train.add_argument("--image-size", type=_positive_int, help="resize image data to N x N")
    train.add_argument("--data-dir", help="folder holding the dataset's files (e.g. MNIST IDX files)")
    train.add_argument("--set", dest="hparams", type=_key_value, action="append", default=[],
                       metavar="KEY=VALUE", help="an architecture hyperparameter (repeatable)")
    train.add_argument("--experiment", help="MLflow experiment (default: the dataset's name)")
    train.add_argument("--metrics-out", help="write the final metrics as JSON to this file")
    train.add_argument("--quiet", action="store_true", help="no progress bars or progress lines")
    parity = commands.add_parser("parity", help="prove the torch and Keras networks are one network")
    parity.add_argument("--arch", required=True, help="architecture name (see nnlab list)")
    parity.add_argument("--num-classes", type=_positive_int)
    parity.add_argument("--input-shape", type=_shape, help="C,H,W for images, T or T,F for sequences")
    parity.add_argument("--set", dest="hparams", type=_key_value, action="append", default=[],
                        metavar="KEY=VALUE", help="an architecture hyperparameter (repeatable)")
    parity.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not shape or min(shape) <= 0:
        raise argparse.ArgumentTypeError(f"every dimension must be positive, got {text!r}")
    return shape


def cmd_parity(args) -> int:
    from modules import registry
    from modules.convert import parity

    arch = registry.get(args.arch)
    hparams = arch.hyperparameters(dict(args.hparams))
    report = parity(args.arch, args.input_shape, args.num_classes, **hparams)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    diff = report["param_difference"]
    print(f"{report['arch']}: input {'x'.join(map(str, report['input_shape']))}, "
          f"{report['num_classes']} classes, {report['layers_transferred']} layers transferred")
    print(f"  parameters  torch {report['n_params_torch']:,}  keras {report['n_params_keras']:,}"
          + (f"  (differ by {diff:,}: {report['param_difference_reason']})" if diff else "  (equal)"))
    print(f"  outputs     max |torch - keras| = {report['max_abs_diff']:.2e}  "
          f"({'same network' if report['max_abs_diff'] <= 1e-4 else 'MISMATCH'})")
    return 0


def cmd_list(args) -> int:
    from experiments import catalog_view

    if args.refresh:
        catalog_view.refresh_parameter_counts()
    listing = catalog_view.listing()
    if args.json:
        print(json.dumps(listing, indent=2))
    else:
        print(catalog_view.format_listing(listing))
    return 0


def cmd_train(args) -> int:
    from experiments.config import TrainConfig, load_params

    settings = load_params()
    cli = {"framework": args.framework, "arch": args.arch, "data": args.data, "epochs": args.epochs,
           "batch_size": args.batch_size, "lr": args.lr, "optimizer": args.optimizer,
           "seed": args.seed, "image_size": args.image_size, "data_dir": args.data_dir,
           "experiment": args.experiment}
    settings.update({k: v for k, v in cli.items() if v is not None})
    config = TrainConfig(**settings, hparams=dict(args.hparams), quiet=args.quiet).validate()
    say = (lambda *a: None) if args.quiet else print

    from experiments.train import train

    summary = train(config, metrics_out=args.metrics_out, progress=say)
    print(f"{config.framework} {config.arch} on {config.data}: test/acc {summary['test/acc']:.4f}  "
          f"test/loss {summary['test/loss']:.4f}  params {summary['n_params']:,}  "
          f"train {summary['train_time_s']:.1f}s ({summary['samples_per_s']:.0f} samples/s)")
    print(f"MLflow run {summary['run_id']}")
    return 0


COMMANDS = {"list": cmd_list, "train": cmd_train, "parity": cmd_parity}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except UserError as err:
        print(f"nnlab: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nnlab: interrupted; the MLflow run is marked KILLED", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
