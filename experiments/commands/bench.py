"""`nnlab bench`: the lab's training paths against hand-written loops, interleaved."""
from __future__ import annotations

import argparse

from experiments.cli import positive_int

ORDER = 80


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("bench", help="throughput of the lab's paths vs hand-written loops")
    p.add_argument("--models", default="lenet5,resnet20,gru", help="comma-separated (lenet5, resnet20, gru, mlp)")
    p.add_argument("--repeats", type=positive_int, default=3, help="interleaved repeats of each pair")
    p.add_argument("--epochs", type=positive_int,
                   help="epochs per measurement, the first is warm-up (default: a few seconds' worth per "
                        "model: lenet5 25, resnet20 4, gru 10, mlp 10)")
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--json", help="write every figure to this JSON file")
    p.add_argument("--precision", default="32",
                   help="comma-separated precisions to measure each model at, e.g. 32,bf16-mixed "
                   "(reports each one's ratio to 32 and GFLOP/s against that precision's matmul peak)")
    p.add_argument("--accelerator", default="auto", help="auto, cpu or gpu, as nnlab train's")
    p.add_argument("--trial-overhead", action=argparse.BooleanOptionalAction, default=True,
                   help="also time an Optuna trial's cost beyond training (a 6-trial study)")
    p.add_argument("--startup", action="store_true",
                   help="measure start-up instead: `nnlab train` (mlp, digits, 1 epoch) wall time minus "
                        "fit minus the framework's own import, per framework (--repeats times)")


def run(args) -> int:
    from experiments.bench.run import bench, format_results
    from experiments.cli import positive_int as _  # noqa: F401  (keeps imports light)
    from experiments.files import check_output_path, write_json_atomic

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.epochs is not None and args.epochs < 2:
        from modules.errors import UserError

        raise UserError("--epochs must be at least 2: the first epoch is warm-up and not counted")
    check_output_path(args.json)
    if args.startup:
        from experiments.bench.startup import format_startup, startup

        results = startup(repeats=args.repeats)
        print(format_startup(results))
        if args.json:
            write_json_atomic(args.json, results)
        return 0
    precisions = check_bench_hardware(args.precision, args.accelerator)
    results = bench(models, args.repeats, args.epochs, args.batch_size, trials=args.trial_overhead,
                    precisions=precisions, accelerator=args.accelerator)
    print(format_results(results))
    if args.json:
        write_json_atomic(args.json, results)
    return 0


def check_bench_hardware(precision_list: str, accelerator: str) -> tuple:
    """The precisions of `--precision a,b`, each checked as `nnlab train` checks it (in both
    frameworks, on `accelerator`); UserError naming what works."""
    from experiments.config import TrainConfig
    from experiments.hardware import check_hardware

    precisions = tuple(dict.fromkeys(p.strip() for p in precision_list.split(",") if p.strip()))
    for precision in precisions or ("",):
        for framework in ("torch", "keras"):
            check_hardware(TrainConfig(framework=framework, precision=precision, accelerator=accelerator))
    return precisions
