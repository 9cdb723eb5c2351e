"""`nnlab activations`: plot every activation and its derivative, by both frameworks' autograd."""
from __future__ import annotations

from pathlib import Path

ORDER = 60
AGREEMENT = 1e-5  # float32: both frameworks round differently in the last bits


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("activations", help="plot the activations and their derivatives "
                              "(torch autograd and TF GradientTape) and check they agree")
    p.add_argument("--activations", metavar="A,B,...", help="which to plot (default: all: sigmoid, "
                   "tanh, relu, leaky_relu, softmax, gelu, elu, silu, linear)")
    p.add_argument("--out", default=None, help="folder for activations.png and activations.json "
                   "(default: reports/fundamentals)")
    p.add_argument("--experiment", default=None, help="MLflow experiment (default: fundamentals)")


def run(args) -> int:
    from experiments.fundamentals import DEFAULT_OUT, EXPERIMENT, parse_activations
    from experiments.fundamentals.activations import PLOTTED

    names = parse_activations(args.activations, valid=PLOTTED, default=PLOTTED)
    out = Path(args.out) if args.out else DEFAULT_OUT

    from experiments import tracking
    from experiments.files import write_json_atomic
    from experiments.fundamentals.activations import activation_curves, plot_activation_curves

    with tracking.tracked_run(args.experiment or EXPERIMENT, "activations",
                              {"activations": ",".join(names)}, {"lesson": "activations"}) as run:
        curves = activation_curves(names)
        print(f"{'activation':<12} {'max |torch - keras|: f(x)':>26} {'derivative':>16}")
        for name, c in curves.items():
            print(f"{name:<12} {c['max_diff_value']:>26.2e} {c['max_diff_derivative']:>16.2e}")
        worst = max(max(c["max_diff_value"], c["max_diff_derivative"]) for c in curves.values())
        print(f"frameworks {'agree' if worst <= AGREEMENT else 'DISAGREE'}: largest difference "
              f"{worst:.2e} (tolerance {AGREEMENT:.0e})")
        figure = plot_activation_curves(curves, out / "activations.png")
        summary = {name: {"max_diff_value": c["max_diff_value"],
                          "max_diff_derivative": c["max_diff_derivative"]} for name, c in curves.items()}
        write_json_atomic(out / "activations.json", summary)
        run.log_metrics({f"max_diff/{n}": max(s.values()) for n, s in summary.items()})
        run.log_artifact(figure, "plots")
        run.log_artifact(out / "activations.json")
        print(f"wrote {figure} and {out / 'activations.json'}; MLflow run {run.run_id}")
    return 0 if worst <= AGREEMENT else 1
