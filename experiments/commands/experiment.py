"""`nnlab experiment NAME`: the fundamentals lab's measured experiments.

- `vanishing-gradients`: per-layer gradient norms of deep MLPs, per activation, in both frameworks;
- `linear-collapse`: a deep network without non-linearity against logistic regression and relu.

Each prints its numbers, writes PNG and JSON files under `--out` and logs them to MLflow.
"""
from __future__ import annotations

from pathlib import Path

from experiments.cli import Parser, positive_float, positive_int, seed

ORDER = 65


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("experiment", help="run a fundamentals experiment "
                              "(vanishing-gradients, linear-collapse)")
    lessons = p.add_subparsers(dest="lesson", metavar="EXPERIMENT", parser_class=Parser, required=True)

    v = lessons.add_parser("vanishing-gradients", help="per-layer gradient norms of deep MLPs "
                           "with each activation, torch and Keras")
    v.add_argument("--depths", default="10,20", help="hidden-layer counts, comma-separated (default 10,20)")
    v.add_argument("--activations", metavar="A,B,...", help="hidden activations (default: every "
                   "non-linear one: sigmoid, tanh, relu, leaky_relu, gelu, elu, silu)")
    v.add_argument("--frameworks", default="torch,keras", help="torch, keras or both (default both)")
    v.add_argument("--width", type=positive_int, default=64)
    v.add_argument("--epochs", type=positive_int, default=5, help="epochs of Adam on digits (default 5)")
    v.add_argument("--lr", type=positive_float, default=1e-3)
    v.add_argument("--init", default="xavier", help="initial weights: xavier (default, Glorot & Bengio "
                   "2010), he, or default (each framework's own; the same after transfer)")
    v.add_argument("--seed", type=seed, default=0)
    _common(v)

    c = lessons.add_parser("linear-collapse", help="deep linear network vs logistic regression vs relu")
    c.add_argument("--data", default="moons", help="moons or circles (default moons)")
    c.add_argument("--depth", type=positive_int, default=6, help="hidden layers (default 6)")
    c.add_argument("--width", type=positive_int, default=64)
    c.add_argument("--steps", type=positive_int, default=300, help="full-batch Adam steps (default 300)")
    c.add_argument("--lr", type=positive_float, default=1e-2)
    c.add_argument("--seed", type=seed, default=0)
    _common(c)


def _common(p) -> None:
    p.add_argument("--out", default=None, help="folder for the figures and JSON (default: reports/fundamentals)")
    p.add_argument("--experiment", default=None, help="MLflow experiment (default: fundamentals)")


def run(args) -> int:
    return {"vanishing-gradients": vanishing_gradients,
            "linear-collapse": linear_collapse}[args.lesson](args)


def vanishing_gradients(args) -> int:
    from experiments.fundamentals import DEFAULT_OUT, EXPERIMENT, parse_activations, parse_ints, single_threaded
    from modules.errors import UserError

    depths = parse_ints(args.depths, "--depths")
    activations = parse_activations(args.activations)
    frameworks = tuple(f.strip() for f in args.frameworks.split(","))
    for framework in frameworks:
        if framework not in ("torch", "keras"):
            raise UserError(f"unknown framework {framework!r}; valid: torch, keras")
    from modules.feedforward.spec import INITS

    if args.init not in INITS:
        raise UserError(f"unknown init {args.init!r}; valid: {', '.join(INITS)}")
    out = Path(args.out) if args.out else DEFAULT_OUT

    from experiments import tracking
    from experiments.files import write_json_atomic
    from experiments.fundamentals import vanishing_gradients as vg

    params = {"depths": args.depths, "activations": ",".join(activations), "frameworks": ",".join(frameworks),
              "width": args.width, "epochs": args.epochs, "lr": args.lr, "init": args.init, "seed": args.seed,
              "optimizer": "adam", "data": "digits"}
    with tracking.tracked_run(args.experiment or EXPERIMENT, "vanishing-gradients", params,
                              {"lesson": "vanishing-gradients"}) as run:
        print(f"deep MLPs (width {args.width}, {args.init} init) on digits, {args.epochs} epochs of Adam; "
              f"gradient norms on a fixed batch of {vg.PROBE_SIZE}")
        with single_threaded():
            records = vg.measure(depths, activations, frameworks, width=args.width, epochs=args.epochs,
                                 lr=args.lr, init=args.init, seed=args.seed)
        print("\nfirst-layer / last-layer gradient norm (||dL/dW_1|| / ||dL/dW_out||):")
        header = "".join(f"{f + ' ' + w:>16}" for f in frameworks for w in ("init", "trained"))
        print(f"{'depth':>5} {'activation':<11}{header}")
        for depth in depths:
            for activation in activations:
                row = {r["framework"]: r for r in records if r["depth"] == depth and r["activation"] == activation}
                cells = "".join(f"{row[f]['ratio_' + w]:>16.2e}" for f in frameworks for w in ("init", "trained"))
                print(f"{depth:>5} {activation:<11}{cells}")
        if len(frameworks) == 2:
            agreement = vg.framework_agreement(records)
            print(f"torch and Keras per-layer norms at initialisation agree to {agreement:.1e} (relative)")
            run.log_metrics({"init_norms_max_relative_diff": agreement})
        run.log_metrics({f"ratio_{w}/{r['framework']}/{r['activation']}/depth{r['depth']}": r[f"ratio_{w}"]
                         for r in records for w in ("init", "trained")})
        files = [vg.plot_gradient_norms(records, out / "vanishing_gradients.png"),
                 vg.plot_training_curves(records, out / "vanishing_gradients_training.png")]
        write_json_atomic(out / "vanishing_gradients.json", {"params": params, "records": records})
        for path in files:
            run.log_artifact(path, "plots")
        run.log_artifact(out / "vanishing_gradients.json")
        print(f"wrote {', '.join(map(str, files))} and {out / 'vanishing_gradients.json'}; "
              f"MLflow run {run.run_id}")
    return 0


def linear_collapse(args) -> int:
    from experiments.fundamentals import DEFAULT_OUT, EXPERIMENT, linear_collapse as lc, single_threaded
    from modules.errors import UserError

    if args.data not in lc.DATASETS:
        raise UserError(f"unknown data {args.data!r} for linear-collapse; valid: {', '.join(lc.DATASETS)}")
    out = Path(args.out) if args.out else DEFAULT_OUT

    from experiments import tracking
    from experiments.files import write_json_atomic

    params = {"data": args.data, "depth": args.depth, "width": args.width, "steps": args.steps,
              "lr": args.lr, "seed": args.seed, "optimizer": "adam"}
    with tracking.tracked_run(args.experiment or EXPERIMENT, "linear-collapse", params,
                              {"lesson": "linear-collapse"}) as run:
        with single_threaded():
            comparison = lc.compare(args.data, depth=args.depth, width=args.width, steps=args.steps,
                                    lr=args.lr, seed=args.seed)
        print(f"{args.data}: test accuracy (train accuracy)")
        for name, r in comparison["results"].items():
            print(f"  {name:<24} {r['test_acc']:.3f}  ({r['train_acc']:.3f})")
        run.log_metrics({f"test_acc/{name.replace(',', '').replace(' ', '_')}": r["test_acc"]
                         for name, r in comparison["results"].items()})
        figure = lc.plot_decision_boundaries(comparison, out / "linear_collapse.png")
        summary = {k: v for k, v in comparison.items() if not k.startswith("_")}
        write_json_atomic(out / "linear_collapse.json", summary)
        run.log_artifact(figure, "plots")
        run.log_artifact(out / "linear_collapse.json")
        print(f"wrote {figure} and {out / 'linear_collapse.json'}; MLflow run {run.run_id}")
    return 0
