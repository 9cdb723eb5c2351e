"""`nnlab parity`: prove the torch and Keras networks are one network."""
from __future__ import annotations

import json

from experiments.cli import add_network_options, positive_int, shape

ORDER = 30


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("parity", help="prove the torch and Keras networks are one network "
                              "(exit 1 on a mismatch)")
    p.add_argument("--arch", required=True, help="architecture name (see nnlab list)")
    p.add_argument("--num-classes", type=positive_int)
    p.add_argument("--input-shape", type=shape, help="C,H,W for images, T or T,F for sequences")
    add_network_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    from experiments.parity import parity
    from modules import registry

    hparams = registry.get(args.arch).hyperparameters(dict(args.hparams), args.preset)
    report = parity(args.arch, args.input_shape, args.num_classes, **hparams)
    mismatch = 0 if report["same_network"] else 1  # a real mismatch fails the command (exit 1)
    if args.json:
        print(json.dumps(report, indent=2))
        return mismatch
    diff = report["param_difference"]
    print(f"{report['arch']}: input {'x'.join(map(str, report['input_shape']))}, "
          f"{report['num_classes']} classes, {report['layers_transferred']} layers transferred")
    print(f"  parameters  torch {report['n_params_torch']:,}  keras {report['n_params_keras']:,}"
          + (f"  (differ by {diff:,}: {report['param_difference_reason']})" if diff else "  (equal)"))
    print(f"  outputs     max |torch - keras| = {report['max_abs_diff']:.2e}, tolerance {report['tolerance']:.2e}"
          f" (rtol x max|torch| {report['output_scale']:.3g} + atol)"
          f"  ({'same network' if report['same_network'] else 'MISMATCH'})")
    return mismatch
