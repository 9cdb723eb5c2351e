"""`nnlab twins`: train the torch and Keras twins from the same start on the same batches."""
from __future__ import annotations

from experiments.cli import (
    add_data_options,
    add_network_options,
    add_recipe_options,
    positive_float,
    positive_int,
    recipe_settings,
    seed,
)

ORDER = 35
DEFAULT_STEPS = 20
DEFAULT_RTOL = 1e-3  # the agreement the tests hold LeNet-5 and ResNet-20 to (tests/test_twins.py)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("twins", help="train both frameworks' twins from the same start on the same "
                              "batches; compare per-step losses and final weights")
    p.add_argument("--arch", required=True, help="a classifier (see nnlab list)")
    p.add_argument("--data", help="dataset (default: the architecture's default data)")
    p.add_argument("--steps", type=positive_int, default=DEFAULT_STEPS,
                   help=f"optimizer steps (default {DEFAULT_STEPS})")
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=positive_float, help="learning rate")
    p.add_argument("--optimizer", help="adam, adamw, sgd or rmsprop")
    p.add_argument("--seed", type=seed)
    p.add_argument("--image-size", type=positive_int, help="resize image data to N x N")
    p.add_argument("--data-dir", help="folder holding the dataset's files")
    p.add_argument("--rtol", type=positive_float, default=DEFAULT_RTOL,
                   help=f"relative agreement required of losses and weights (default {DEFAULT_RTOL:g})")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="train both twins in this precision (float64: no rounding noise for Adam to amplify)")
    p.add_argument("--experiment", help="MLflow experiment (default: twins)")
    add_network_options(p)
    add_data_options(p)
    add_recipe_options(p)


def run(args) -> int:
    from experiments.plan import resolve
    from experiments.train import make_datamodule
    from experiments.twins import check_classifier, dropout_off, train_twins
    from experiments.twins_report import log_twins, print_verdict
    from modules.errors import UserError

    given = {"framework": "torch", "arch": args.arch, "data": args.data, "batch_size": args.batch_size,
             "lr": args.lr, "optimizer": args.optimizer, "seed": args.seed, "image_size": args.image_size,
             "data_dir": args.data_dir, "preset": args.preset, "hparams": dict(args.hparams),
             "data_options": dict(args.data_options), "quiet": True, **recipe_settings(args)}
    plan = resolve(given)
    check_classifier(plan.arch, plan.data)  # before the data is prepared: a refusal costs no download
    unused = [flag for flag, on in (("--label-smoothing", plan.config.label_smoothing),
                                    ("--warmup-epochs", plan.config.warmup_epochs),
                                    ("--augment", plan.config.augment)) if on]
    if unused:
        raise UserError(f"nnlab twins compares plain steps at a constant rate; drop {', '.join(unused)}")
    hparams, changed = dropout_off(plan.config.hparams)
    if changed:
        print(f"dropout off for the comparison ({', '.join(changed)}): the frameworks draw different masks")
        plan = resolve({**given, "hparams": {**dict(args.hparams), **{k: 0.0 for k in changed}}})
    datamodule = make_datamodule(plan)
    cfg = plan.config
    print(f"twins: {cfg.arch} on {plan.data.name}, {cfg.optimizer} lr {cfg.lr:g}, batch {cfg.batch_size}, "
          f"{args.steps} steps from the same initial weights, {args.dtype}")

    def on_step(step: int, torch_loss: float, keras_loss: float) -> None:
        if step < 3 or (step + 1) % 5 == 0 or step + 1 == args.steps:
            rel = abs(torch_loss - keras_loss) / max(abs(torch_loss), 1e-12)
            print(f"  step {step + 1:4d}  torch loss {torch_loss:.6f}  keras loss {keras_loss:.6f}  "
                  f"relative difference {rel:.1e}")

    result = train_twins(plan, datamodule, args.steps, on_step=on_step, dtype=args.dtype)
    log_twins(plan, result, args, hparams)
    return print_verdict(result, args.rtol)
