"""`nnlab esn-compare`: the lab's echo state network in both frameworks against reservoirpy.

All three use the same reservoir matrices (`modules.reservoir.spec.reservoir_matrices`,
handed to reservoirpy as arrays), the same standardised series and the same
ridge penalty. The lab's ESN reads windows (each run from a zero state, as the
datamodule serves them, tracked in MLflow like every run); reservoirpy runs
once over the continuous training stretch, discarding the first `window`
states as warm-up. Both predict the same test targets one step ahead and
free-run `horizon` steps from the start of the test split.
"""
from __future__ import annotations

import dataclasses
import json
import time

from experiments.cli import add_data_options, add_network_options

ORDER = 60
PROTOCOLS = ("windows", "jaeger")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("esn-compare", help="echo state network: torch, keras and reservoirpy, "
                              "same reservoir: fit time and NRMSE")
    p.add_argument("--data", default="mackey_glass", help="a forecasting dataset (default: mackey_glass)")
    add_network_options(p, "an esn")
    add_data_options(p)
    p.add_argument("--frameworks", default="torch,keras", help="lab frameworks to run (default: torch,keras)")
    p.add_argument("--protocol", choices=PROTOCOLS, default="windows",
                   help="windows: the lab's runs (each window from a zero state); jaeger: Jaeger's benchmark, "
                   "one long teacher-forced run, washout, ridge readout, continuous free run, NRMSE84 "
                   "(with --preset jaeger unless --preset is given)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def standardised_series(datamodule):
    """The whole series, standardised as the datamodule serves it, and where the test targets start."""
    import numpy as np

    s = datamodule.splits
    series = np.concatenate([s["train"].x[0, :, 0], s["train"].y[:, 0], s["val"].y[:, 0], s["test"].y[:, 0]])
    return series.astype(np.float64), len(series) - len(s["test"])


def reservoirpy_forecast(hparams: dict, datamodule) -> dict:
    """Fit reservoirpy's Reservoir >> Ridge on the lab's reservoir; time it and score it."""
    import numpy as np
    from reservoirpy import __version__ as version
    from reservoirpy.nodes import Reservoir, Ridge

    from experiments.tasks.forecast.scorer import nrmse
    from modules.reservoir.spec import reservoir_matrices

    series, test_start = standardised_series(datamodule)
    train_end = len(datamodule.splits["train"]) + datamodule.window  # first value no train window targets
    m = reservoir_matrices(hparams["units"], 1, hparams["spectral_radius"], hparams["density"],
                           hparams["input_scaling"], hparams["seed"])
    reservoir = Reservoir(units=hparams["units"], lr=hparams["leak_rate"], W=m.w.astype(np.float64),
                          Win=m.w_in.astype(np.float64), bias=m.bias.astype(np.float64))
    esn = reservoir >> Ridge(ridge=hparams["ridge"])
    u = series[:, None]
    start = time.perf_counter()
    esn.fit(u[:train_end - 1], u[1:train_end], warmup=datamodule.window)
    fit_time = time.perf_counter() - start

    esn.reset()
    one_step = esn.run(u[:-1])[test_start - 1:, 0]  # output t predicts value t + 1
    esn.reset()
    value = esn.run(u[:test_start])[-1:]  # the prediction of the first test value
    free = [value[0, 0]]
    for _ in range(datamodule.horizon - 1):
        value = esn.run(value)
        free.append(value[0, 0])
    truth = series[test_start:]
    return {"implementation": f"reservoirpy {version}", "fit_time_s": fit_time,
            "test/nrmse": nrmse(one_step, truth),
            "test/free_run_nrmse": nrmse(np.asarray(free), truth[:datamodule.horizon])}


def run(args) -> int:
    from experiments.plan import resolve
    from experiments.train import make_datamodule, train
    from modules import registry
    from modules.errors import UserError

    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    for framework in frameworks:
        if framework not in registry.FRAMEWORKS:
            raise UserError(f"unknown framework {framework!r} in --frameworks; valid: "
                            f"{', '.join(registry.FRAMEWORKS)}")
    if args.protocol == "jaeger":
        return run_jaeger(args, frameworks)
    settings = {"arch": "esn", "data": args.data, "quiet": True, "preset": args.preset,
                "hparams": dict(args.hparams), "data_options": dict(args.data_options)}
    plans = {framework: resolve({**settings, "framework": framework}) for framework in frameworks}
    plan = next(iter(plans.values())) if plans else resolve(settings)
    config = plan.config
    if config.hparams["readout"] != "ridge":
        raise UserError("esn-compare compares ridge readouts; drop --set readout=...")
    rows = []
    for framework in frameworks:
        summary = train(plans[framework], progress=lambda *a: None)
        rows.append({"implementation": f"nnlab {framework}", "fit_time_s": summary["train_time_s"],
                     "test/nrmse": summary["test/nrmse"],
                     "test/free_run_nrmse": summary["test/free_run_nrmse"], "run_id": summary["run_id"]})
    datamodule = make_datamodule(plan)
    rows.append(reservoirpy_forecast(config.hparams, datamodule))
    report = {"data": config.data, "hyperparameters": config.hparams, "data_options": config.data_options,
              "results": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    h, o = config.hparams, config.data_options
    print(f"esn on {config.data}: units {h['units']}, spectral radius {h['spectral_radius']}, leak rate "
          f"{h['leak_rate']}, input scaling {h['input_scaling']}, density {h['density']}, ridge {h['ridge']}, "
          f"seed {h['seed']}; window {o['window']}, free run {o['horizon']} steps; the same reservoir matrices")
    print(f"  {'implementation':<20} {'fit time (s)':>12} {'one-step NRMSE':>15} {'free-run NRMSE':>15}")
    for row in rows:
        print(f"  {row['implementation']:<20} {row['fit_time_s']:>12.2f} {row['test/nrmse']:>15.5f} "
              f"{row['test/free_run_nrmse']:>15.5f}")
    print("  (nnlab runs each training window from a zero state; reservoirpy runs the training stretch once)")
    return 0


def run_jaeger(args, frameworks: list[str]) -> int:
    """Jaeger's Mackey-Glass benchmark (`experiments.esn_benchmark`) on one reservoir."""
    from experiments.esn_benchmark import Protocol, compare
    from modules import registry
    from modules.errors import UserError

    if args.data != "mackey_glass" or args.data_options:
        raise UserError("--protocol jaeger makes its own Mackey-Glass series; drop --data and --data-option")
    preset = args.preset or "jaeger"
    hparams = registry.get("esn").hyperparameters(dict(args.hparams), preset)
    protocol = Protocol()
    rows = compare(hparams, frameworks, protocol)
    if args.json:
        print(json.dumps({"protocol": dataclasses.asdict(protocol),
                          "preset": preset, "hyperparameters": hparams, "results": rows}, indent=2))
        return 0
    h, p = hparams, protocol
    print(f"Jaeger's Mackey-Glass benchmark (tau 17, tanh(x - 1)): esn preset {preset}: units {h['units']}, "
          f"density {h['density']}, spectral radius {h['spectral_radius']}, leak rate {h['leak_rate']}, "
          f"input scaling {h['input_scaling']}, ridge {h['ridge']}, seed {h['seed']}; the same reservoir matrices")
    print(f"  teacher-forced run of {p.train_length} steps, washout {p.washout}; {p.trials} continuous free "
          f"runs of {p.horizon} steps, {p.stride} steps apart")
    print(f"  {'implementation':<20} {'NRMSE' + str(p.horizon):>10} {'train NRMSE':>12} {'run (s)':>8} "
          f"{'fit (s)':>8} {'free (s)':>8}")
    for row in rows:
        print(f"  {row['implementation']:<20} {row['nrmse_horizon']:>10.2e} {row['train_nrmse']:>12.2e} "
              f"{row['teacher_forced_s']:>8.2f} {row['fit_s']:>8.2f} {row['free_run_s']:>8.2f}")
    return 0
