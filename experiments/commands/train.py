"""`nnlab train`: train one architecture in one framework, tracked in MLflow."""
from __future__ import annotations

from experiments.cli import (
    add_control_options,
    add_data_options,
    add_hardware_options,
    add_lr_schedule_option,
    add_network_options,
    add_recipe_options,
    control_settings,
    hardware_settings,
    non_negative_int,
    positive_float,
    positive_int,
    recipe_settings,
    registered_model_name,
    seed,
)

ORDER = 20


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train one architecture in one framework")
    p.add_argument("--framework", default=None, help="torch, keras or numpy (default: params.yaml, else torch)")
    p.add_argument("--arch", help="architecture name (see nnlab list); required unless --resume")
    p.add_argument("--resume", metavar="RUN_ID",
                   help="continue this interrupted MLflow run from its last finished epoch")
    p.add_argument("--data", help="dataset name (default: the architecture's default data)")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=positive_float, help="learning rate")
    p.add_argument("--optimizer", help="adam, adamw, sgd or rmsprop")
    add_lr_schedule_option(p)
    p.add_argument("--seed", type=seed)
    p.add_argument("--image-size", type=positive_int, help="resize image data to N x N")
    p.add_argument("--data-dir", help="folder holding the dataset's files (e.g. MNIST IDX files)")
    p.add_argument("--init-weights", metavar="FILE",
                   help="start from a torchvision state-dict file (both frameworks; docs/architecture.md)")
    add_network_options(p)
    add_data_options(p)
    p.add_argument("--experiment", help="MLflow experiment (default: the dataset's name)")
    p.add_argument("--metrics-out", help="write the final metrics as JSON to this file")
    add_hardware_options(p)
    p.add_argument("--devices", type=positive_int,
                   help="torch: Lightning DDP processes (GPUs, or CPU cores) per node; keras: GPUs (MirroredStrategy)")
    p.add_argument("--num-nodes", type=positive_int, help="Lightning DDP: number of machines")
    p.add_argument("--strategy", help="Lightning strategy for --devices > 1: ddp (gloo on CPU, NCCL on GPUs)")
    p.add_argument("--distribute", action="store_true", default=None,
                   help="Keras: train under tf.distribute.MirroredStrategy over this machine's devices")
    p.add_argument("--workers", metavar="HOST:PORT,...",
                   help="Keras across machines: every worker's address, the same list on each (docs/tracking.md)")
    p.add_argument("--worker-index", type=non_negative_int,
                   help="with --workers: this worker's place in the list (0 logs the run)")
    p.add_argument("--worker-timeout", type=positive_float, metavar="SECONDS",
                   help="with --workers: how long to wait for the other workers (default 120)")
    add_control_options(p)
    p.add_argument("--register", metavar="MODEL", type=registered_model_name,
                   help="register the run's MLflow Model as a new version of MODEL, alias challenger")
    add_recipe_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars or progress lines")


def plan_from_args(args):
    """params.yaml < the architecture's own training defaults < the command line: the run plan."""
    from experiments.plan import resolve

    given = {"framework": args.framework, "arch": args.arch, "data": args.data, "epochs": args.epochs,
             "batch_size": args.batch_size, "lr": args.lr, "optimizer": args.optimizer,
             "lr_schedule": args.lr_schedule, "seed": args.seed, "image_size": args.image_size,
             "data_dir": args.data_dir, "experiment": args.experiment, "devices": args.devices,
             "num_nodes": args.num_nodes, "strategy": args.strategy, "distribute": args.distribute,
             "workers": args.workers, "worker_index": args.worker_index, "worker_timeout": args.worker_timeout,
             "preset": args.preset, "hparams": dict(args.hparams), "data_options": dict(args.data_options),
             "quiet": args.quiet, "init_weights": args.init_weights, **control_settings(args),
             **hardware_settings(args), **recipe_settings(args)}
    return resolve(given)


def run(args) -> int:
    from experiments.resume import TrainingInterrupted, plan_for_resume
    from modules.errors import UserError

    if args.resume:
        plan = plan_for_resume(args.resume, data_dir=args.data_dir, quiet=args.quiet)
    elif not args.arch:
        raise UserError("nnlab train needs --arch NAME (or --resume RUN_ID to continue a run)")
    else:
        plan = plan_from_args(args)
    from experiments.files import check_output_path
    from experiments.train import train
    from modules import backend

    if plan.config.framework == "keras":  # this process trains Keras alone: no torch side to load
        backend.keras_alone()
    check_output_path(args.metrics_out)  # before training, not after

    try:
        summary = train(plan, metrics_out=args.metrics_out, resume_run_id=args.resume, register=args.register,
                        own_process=True, progress=(lambda *a: None) if args.quiet else print)
    except TrainingInterrupted as stop:
        import sys

        print(f"nnlab: {stop.resume_hint()}", file=sys.stderr)
        return 130
    if not summary:  # a DDP rank other than zero: rank zero reports
        return 0
    shown = "  ".join(f"{k} {v:.4f}" for k, v in summary.items() if k.startswith("test/"))
    config = plan.config
    if summary.get("fast_dev_run"):
        print(f"fast dev run passed: {config.framework} {config.arch} on {config.data}: {shown} "
              "(one batch; no MLflow run, no metrics file)")
        return 0
    controls = "  ".join(f"{k} {summary[k]}" for k in ("best_epoch", "stopped_epoch") if k in summary)
    print(f"{config.framework} {config.arch} on {config.data}: {shown}  params {summary['n_params']:,}  "
          f"train {summary['train_time_s']:.1f}s ({summary['samples_per_s']:.0f} samples/s)"
          + (f"  {controls}" if controls else ""))
    print(f"MLflow run {summary['run_id']}")
    if "registered_model" in summary:
        print(f"registered models:/{summary['registered_model']}@{summary['model_alias']} "
              f"(version {summary['model_version']})")
    return 0
