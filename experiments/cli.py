"""`nnlab`: the lab's command line.

Each command is a module in `experiments/commands/` with `add_parser(commands)`
and `run(args) -> int`. Only argparse and the framework-free registries load at
start-up; a command imports torch, TensorFlow or MLflow when it runs, so
`--help` and `list` answer at once.
"""
from __future__ import annotations

import argparse
import importlib
import math
import pkgutil
import sys

from modules.errors import UserError


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2), like every other user error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_known_args(self, args=None, namespace=None):
        """argparse's, and an option given an empty value (`--resume ""`) is an error, not unset."""
        namespace, extras = super().parse_known_args(args, namespace)
        for action in self._actions:
            if action.option_strings and getattr(namespace, action.dest, None) == "":
                self.error(f"argument {action.option_strings[-1]}: empty value")
        return namespace, extras


MAX_INT = 2**31 - 1  # the largest count or size torch and TensorFlow index with 32-bit integers


def integer_at_least(text: str, low: int, what: str) -> int:
    """An integer in [low, 2**31 - 1] parsed from `text`; `what` names it in the error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
    if value > MAX_INT:
        raise argparse.ArgumentTypeError(f"must be {what} up to {MAX_INT}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer in [1, 2**31 - 1]."""
    return integer_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """argparse type: an integer in [0, 2**31 - 1]."""
    return integer_at_least(text, 0, "an integer >= 0")


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (`inf` and `nan` parse as floats, and would train on)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be positive and finite, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {value}")
    return value


def seed(text: str) -> int:
    """argparse type: a seed NumPy accepts, an integer in [0, 2**32 - 1]."""
    from experiments.config import check_seed

    try:
        return check_seed(int(text))
    except ValueError as err:
        message = str(err) if str(err).startswith("seed") else f"expected an integer, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def key_value(text: str) -> tuple[str, str]:
    """argparse type: `key=value`."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), value.strip()


def shape(text: str) -> tuple[int, ...]:
    """argparse type: comma-separated positive integers, e.g. `3,32,32`."""
    try:
        dims = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not dims or min(dims) <= 0 or max(dims) > MAX_INT:
        raise argparse.ArgumentTypeError(f"every dimension must be in [1, {MAX_INT}], got {text!r}")
    return dims


def registered_model_name(text: str) -> str:
    """argparse type: a name for the MLflow Model Registry (`experiments.mlflow_model`)."""
    from experiments.mlflow_model import check_model_name

    try:
        return check_model_name(text)
    except UserError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_network_options(parser: argparse.ArgumentParser, what: str = "an architecture") -> None:
    """`--preset NAME` and `--set KEY=VALUE`, for every command that builds a network.

    The valid presets are the entry's (`default` plus its `presets`, see `nnlab list`); the
    registry checks the name and the keys when the network is resolved.
    """
    parser.add_argument("--preset", metavar="NAME",
                        help="a named hyperparameter set of the architecture (default: default; "
                        "e.g. paper, the published network; see nnlab list)")
    parser.add_argument("--set", dest="hparams", type=key_value, action="append", default=[],
                        metavar="KEY=VALUE", help=f"{what} hyperparameter, over the preset (repeatable)")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """`--data-option KEY=VALUE`: a dataset's own settings."""
    parser.add_argument("--data-option", dest="data_options", type=key_value, action="append", default=[],
                        metavar="KEY=VALUE", help="a dataset setting, e.g. window=30 or horizon=84 (repeatable)")


def add_control_options(parser: argparse.ArgumentParser) -> None:
    """The training controls (`experiments.controls`) of `nnlab train` and `nnlab tune`."""
    parser.add_argument("--select-best", metavar="METRIC",
                        help="score the test split with the weights of the epoch best on METRIC, "
                        "e.g. val/acc or val/loss (default: the last epoch's)")
    parser.add_argument("--early-stop", type=positive_int, metavar="PATIENCE",
                        help="stop after PATIENCE epochs without improvement of the --select-best "
                        "metric, else val/loss")
    parser.add_argument("--min-delta", type=non_negative_float, metavar="X",
                        help="with --early-stop: the least change that counts as an improvement (default 0)")
    parser.add_argument("--grad-clip", type=positive_float, metavar="NORM",
                        help="clip each step's gradients to this global norm over all parameters")
    parser.add_argument("--limit-batches", type=positive_int, metavar="N",
                        help="debug: at most N batches of each split per epoch")
    parser.add_argument("--fast-dev-run", action="store_true", default=None,
                        help="debug: one epoch of one batch of train, val and test; no MLflow run, no metrics file")
    parser.add_argument("--system-metrics", action="store_true", default=None,
                        help="log MLflow's system metrics (CPU, memory; GPU where present) while training")


def add_recipe_options(parser: argparse.ArgumentParser) -> None:
    """The training recipe (docs/recipes.md): the same meaning in both frameworks."""
    parser.add_argument("--weight-decay", type=non_negative_float, metavar="X",
                        help="coupled L2: X * w added to each gradient (adam, sgd, rmsprop; torch's weight_decay)")
    parser.add_argument("--decoupled-weight-decay", type=non_negative_float, metavar="X",
                        help="AdamW's decoupled decay w -= lr * X * w (with --optimizer adamw; default 0.01)")
    parser.add_argument("--momentum", type=non_negative_float, metavar="M", help="SGD's momentum (default 0.9)")
    parser.add_argument("--nesterov", action="store_true", default=None, help="SGD with Nesterov momentum")
    parser.add_argument("--label-smoothing", type=non_negative_float, metavar="S",
                        help="classification targets (1 - S) one-hot + S / classes, in [0, 1)")
    parser.add_argument("--warmup-epochs", type=non_negative_int, metavar="N",
                        help="linear learning-rate warm-up over the first N epochs, then --lr-schedule")
    parser.add_argument("--augment", metavar="OPS",
                        help="training-batch augmentation of images, e.g. crop4,flip (random crop with "
                        "4 pixels of padding, horizontal flip)")


def add_lr_schedule_option(parser: argparse.ArgumentParser) -> None:
    """`--lr-schedule`: the learning rate per optimizer step (`modules.optim.LR_SCHEDULES`)."""
    parser.add_argument("--lr-schedule", help="constant, cosine (to 0 over the run) or step (x0.1 at 50%% "
                        "and 75%% of the run), per optimizer step (default: params.yaml)")


def add_hardware_options(parser: argparse.ArgumentParser) -> None:
    """`--accelerator`, `--precision` and `--force-precision` (`experiments.hardware`, docs/hardware.md)."""
    parser.add_argument("--accelerator", help="auto (a GPU when the framework sees one), cpu or gpu (default: auto)")
    parser.add_argument("--precision", help="32, bf16-mixed (a CPU with avx512_bf16/AMX, or a GPU) or 16-mixed "
                        "(GPUs) (default: 32; docs/hardware.md)")
    parser.add_argument("--force-precision", action="store_true", default=None,
                        help="train at --precision bf16-mixed even on a CPU without native bf16 (slower)")


def hardware_settings(args) -> dict:
    """The TrainConfig settings of `add_hardware_options`' flags (None: not given)."""
    return {key: getattr(args, key) for key in ("accelerator", "precision", "force_precision")}


def recipe_settings(args) -> dict:
    """The TrainConfig settings of `add_recipe_options`' flags (None: not given)."""
    return {key: getattr(args, key) for key in ("weight_decay", "decoupled_weight_decay", "momentum",
                                                "nesterov", "label_smoothing", "warmup_epochs", "augment")}


def control_settings(args) -> dict:
    """The TrainConfig settings of `add_control_options`' flags (None: not given)."""
    return {"select_best": args.select_best, "early_stop": args.early_stop, "min_delta": args.min_delta,
            "grad_clip": args.grad_clip, "limit_batches": args.limit_batches,
            "fast_dev_run": args.fast_dev_run, "system_metrics": args.system_metrics}


def _command_modules() -> dict:
    from experiments import commands

    return {info.name: importlib.import_module(f"experiments.commands.{info.name}")
            for info in pkgutil.iter_modules(commands.__path__) if not info.name.startswith("_")}


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = Parser(prog="nnlab", description="Train, compare and tune the classic neural network "
                    "architectures in PyTorch Lightning and in Keras, tracked in MLflow.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    modules = _command_modules()
    for module in sorted(modules.values(), key=lambda m: getattr(m, "ORDER", 50)):
        module.add_parser(subparsers)
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    module = modules[args.command.replace("-", "_")]
    try:
        return module.run(args)
    except UserError as err:
        print(f"nnlab: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nnlab: interrupted; the MLflow run is marked KILLED", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
