"""Drive the benchmark: interleaved measurements in fresh processes, then figures and ratios."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from experiments.bench.models import MODELS, PAIRS
from modules.errors import UserError


def run_worker(model: str, path: str, epochs: int, batch: int, precision: str = "32",
               accelerator: str = "auto") -> dict:
    """One measurement in its own process."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-m", "experiments.bench.worker", model, path, str(epochs),
                           str(batch), precision, accelerator], capture_output=True, text=True, env=env)
    line = next((out for out in done.stdout.splitlines() if out.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{model}/{path} failed: {tail[0]}")
    return json.loads(line[len("BENCH "):])


def training_flops_per_sample(model_name: str) -> float | None:
    """About 3x the forward FLOPs of one sample (forward + backward), by torch's flop counter."""
    from modules import backend

    torch = backend.torch()
    from torch.utils.flop_counter import FlopCounterMode

    from experiments.plan import resolve

    model = MODELS[model_name]
    plan = resolve({"arch": model.arch, "data": model.data, "image_size": model.image_size,
                    "hparams": dict(model.hparams)}, source="the benchmark")
    shape = plan.input_shape
    network = plan.arch.build("torch", shape, plan.data.num_classes, **plan.config.hparams).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        network(torch.zeros(8, *shape))
    return 3 * counter.get_total_flops() / 8


def summarize(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def bench(models: list[str], repeats: int, epochs: int | None, batch: int, progress=print,
          trials: bool = True, precisions: tuple = ("32",), accelerator: str = "auto") -> dict:
    """Run every pair of every model `repeats` times, interleaved, at each of `precisions`;
    return all figures. `epochs` per measurement (None: each model's own); `trials`: also
    measure an Optuna trial's cost beyond training (a small study). Each precision's GFLOP/s
    are a share of the matmul peak measured in that precision's compute type."""
    from experiments.hardware import cpu_bf16_flags, cpu_name
    from modules import registry

    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise UserError(f"unknown benchmark model {', '.join(unknown)}; valid: {', '.join(MODELS)}")
    missing = [m for m in models if MODELS[m].arch not in registry.names()]
    if missing:
        raise UserError(f"architecture not registered for {', '.join(missing)}")
    peaks = {p: run_worker("mlp", "peak", 0, 0, p, accelerator)["matmul_peak_gflops"] for p in precisions}
    results = {"machine": {"cpus": os.cpu_count(), "cpu": cpu_name(), "cpu_bf16": cpu_bf16_flags(),
                           "accelerator": accelerator, "matmul_peak_gflops": peaks.get("32"),
                           "matmul_peak_gflops_by_precision": peaks},
               "date": time.strftime("%Y-%m-%d"), "rows": [], "pairs": []}
    for model in models:
        flops = training_flops_per_sample(model)
        for precision in precisions:
            bench_precision(results, model, precision, accelerator, flops, peaks[precision], repeats,
                            epochs or MODELS[model].epochs, batch, progress)
    if len(precisions) > 1 and "32" in precisions:
        results["precision_ratios"] = precision_ratios(results["rows"])
    if trials:
        overheads = run_worker("mlp", "trial", 2, batch)["trial_overhead_s"]
        results["trial_overhead_s"] = {**summarize(overheads), "trials": len(overheads)}
        progress(f"  optuna trial overhead (wall - fit), median {results['trial_overhead_s']['median']:.2f} s")
    return results


def bench_precision(results: dict, model: str, precision: str, accelerator: str, flops: float | None,
                    peak: float, repeats: int, epochs: int, batch: int, progress) -> None:
    """Every pair of `model` at `precision`, `repeats` times interleaved: rows and pairs into `results`."""
    samples = {}
    for lab, floor in PAIRS:
        ratios = []
        for repeat in range(repeats):
            order = (lab, floor) if repeat % 2 == 0 else (floor, lab)  # A B, then B A
            got = {p: run_worker(model, p, epochs, batch, precision, accelerator) for p in order}
            for p, r in got.items():
                samples.setdefault(p, []).append(r)
            ratios.append(got[lab]["samples_per_s"] / got[floor]["samples_per_s"])
            progress(f"  {model:9s} {precision:10s} {lab:>16s} {got[lab]['samples_per_s']:8.0f}/s  "
                     f"{floor:>13s} {got[floor]['samples_per_s']:8.0f}/s  ratio {ratios[-1]:.3f}")
        results["pairs"].append({"model": model, "precision": precision, "path": lab, "floor": floor,
                                 "ratio_median": statistics.median(ratios),
                                 "ratio_min": min(ratios), "ratio_max": max(ratios)})
    for path, runs in samples.items():
        rates = [r["samples_per_s"] for r in runs]
        row = {"model": model, "precision": precision, "path": path,
               "samples_per_s_median": statistics.median(rates),
               "samples_per_s_min": min(rates), "samples_per_s_max": max(rates),
               "gflops_median": statistics.median(rates) * flops / 1e9 if flops else None,
               "peak_rss_mb_median": statistics.median(r["peak_rss_mb"] for r in runs)}
        row["fraction_of_peak"] = row["gflops_median"] / peak if flops else None
        logs = [r["mlflow_log_s_per_epoch"] for r in runs if "mlflow_log_s_per_epoch" in r]
        if logs:
            epoch_s = statistics.median(statistics.median(r["epoch_seconds"]) for r in runs)
            row["mlflow_log_s_per_epoch"] = statistics.median(logs)
            row["mlflow_log_fraction_of_epoch"] = statistics.median(logs) / epoch_s
        results["rows"].append(row)


def precision_ratios(rows: list[dict]) -> list[dict]:
    """Each (model, path)'s median samples/s at each precision over its rate at 32."""
    base = {(r["model"], r["path"]): r["samples_per_s_median"] for r in rows if r["precision"] == "32"}
    return [{"model": r["model"], "path": r["path"], "precision": r["precision"],
             "ratio_to_32": r["samples_per_s_median"] / base[r["model"], r["path"]]}
            for r in rows if r["precision"] != "32" and (r["model"], r["path"]) in base]


def format_results(results: dict) -> str:
    machine = results["machine"]
    peaks = ", ".join(f"{p} {g:.0f}" for p, g in machine["matmul_peak_gflops_by_precision"].items())
    lines = [f"machine: {machine['cpus']} CPUs ({machine['cpu']}; native bf16: "
             f"{', '.join(machine['cpu_bf16']) or 'none'}), accelerator {machine['accelerator']}, "
             f"matmul peak GFLOP/s: {peaks}", "",
             f"{'model':9s} {'precision':10s} {'path':17s} {'samples/s median (min-max)':>30s} {'GFLOP/s':>8s} "
             f"{'of peak':>8s} {'RSS MB':>7s} {'MLflow/epoch':>13s}"]
    for r in results["rows"]:
        mlflow_cost = (f"{100 * r['mlflow_log_fraction_of_epoch']:.2f}%"
                       if r.get("mlflow_log_fraction_of_epoch") is not None else "-")
        gflops = f"{r['gflops_median']:.1f}" if r["gflops_median"] else "-"
        share = f"{100 * r['fraction_of_peak']:.0f}%" if r["fraction_of_peak"] else "-"
        lines.append(f"{r['model']:9s} {r['precision']:10s} {r['path']:17s} {r['samples_per_s_median']:10.0f} "
                     f"({r['samples_per_s_min']:.0f}-{r['samples_per_s_max']:.0f}){'':>6s} {gflops:>8s} "
                     f"{share:>8s} {r['peak_rss_mb_median']:7.0f} {mlflow_cost:>13s}")
    lines += ["", f"{'model':9s} {'precision':10s} {'lab path / hand-written':40s} {'ratio median (min-max)':>24s}"]
    for p in results["pairs"]:
        lines.append(f"{p['model']:9s} {p['precision']:10s} {p['path'] + ' / ' + p['floor']:40s} "
                     f"{p['ratio_median']:10.3f} ({p['ratio_min']:.3f}-{p['ratio_max']:.3f})")
    if results.get("precision_ratios"):
        lines += ["", f"{'model':9s} {'path':17s} {'precision / 32 (samples/s)':>30s}"]
        for r in results["precision_ratios"]:
            lines.append(f"{r['model']:9s} {r['path']:17s} {r['precision'] + ' / 32':>18s} {r['ratio_to_32']:8.2f}x")
    if "trial_overhead_s" in results:
        t = results["trial_overhead_s"]
        lines += ["", f"optuna trial (mlp, 2 epochs): wall time minus fit time, median {t['median']:.2f} s "
                      f"({t['min']:.2f}-{t['max']:.2f}) over {t['trials']} trials"]
    return "\n".join(lines)
