"""`nnlab zoo`: train architectures in both frameworks with their defaults; print one table."""
from __future__ import annotations

from experiments.cli import add_data_options, positive_int

ORDER = 60


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("zoo", help="train architectures in both frameworks, print a results table")
    p.add_argument("--archs", help="comma-separated names (default: every registered architecture)")
    p.add_argument("--family", help="only this family (e.g. cnn, recurrent)")
    p.add_argument("--task", help="only this task (classify, reconstruct, generate, forecast, translate)")
    p.add_argument("--frameworks", default="torch,keras")
    p.add_argument("--epochs", type=positive_int, help="override every architecture's epochs (e.g. 1 for a smoke run)")
    p.add_argument("--json", help="write the rows as JSON to this file")
    add_data_options(p)  # e.g. `--family mnist1d_paper --data-option shuffle_positions=true`


def headline(summary: dict) -> str:
    """The test metrics of a run, compactly."""
    return "  ".join(f"{k[5:]} {v:.4f}" for k, v in sorted(summary.items())
                     if k.startswith("test/") and isinstance(v, (int, float)))


def published_key(data_options: dict) -> str:
    """The key of `Architecture.published` for runs given these `--data-option`s."""
    return ",".join(f"{k}={v}" for k, v in sorted(data_options.items()))


def run(args) -> int:
    from experiments.files import check_output_path, write_json_atomic
    from experiments.plan import resolve
    from experiments.train import train
    from modules import registry
    from modules.errors import UserError

    families = sorted({a.family for a in registry.all_architectures()})
    for flag, value, valid in (("--family", args.family, families), ("--task", args.task, registry.TASKS)):
        if value is not None and value not in valid:
            raise UserError(f"{flag} {value!r} is unknown; valid: {', '.join(valid)}")
    names = ([n.strip() for n in args.archs.split(",") if n.strip()] if args.archs
             else registry.names(task=args.task, family=args.family))
    if not names:
        raise UserError("no architecture matches; see `nnlab list`")
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    check_output_path(args.json)
    rows = []
    data_options = dict(args.data_options)
    print(f"{'architecture':14s} {'framework':9s} {'data':10s} {'params':>11s} {'seconds':>8s}  {'paper':>6s}  "
          f"test metrics")
    for name in names:
        for framework in frameworks:
            plan = resolve({"framework": framework, "arch": name, "epochs": args.epochs, "quiet": True,
                            "data_options": data_options or None})
            config = plan.config
            published = plan.arch.published.get(published_key({k: config.data_options[k] for k in data_options}))
            summary = train(plan, progress=lambda *a: None)
            rows.append({"arch": name, "framework": framework, "data": config.data,
                         "data_options": config.data_options, "paper_test_acc": published, **summary})
            paper = f"{published:6.2f}" if published is not None else f"{'':6s}"
            print(f"{name:14s} {framework:9s} {config.data:10s} {summary['n_params']:>11,} "
                  f"{summary['train_time_s']:8.1f}  {paper}  {headline(summary)}", flush=True)
            if args.json:  # after every row: a long zoo stopped halfway keeps what it measured
                write_json_atomic(args.json, {"rows": rows})
    return 0
