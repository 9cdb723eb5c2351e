"""Start-up cost of `nnlab train`: its wall time minus the fit minus the framework's own import.

Each figure comes from fresh processes in one scratch folder (a warm-up run per framework first
creates the MLflow store and the prepared data), the frameworks interleaved, medians reported.
The framework's cost is timed twice in a fresh interpreter: its import alone, and its import
with one Adam step on one weight, which is what a hand-written loop pays before it trains (the
first `torch.optim` step imports `torch._dynamo`, about a second: docs/benchmarks.md).
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FRAMEWORK_IMPORTS = {"torch": "import torch",
                     "keras": "import tensorflow, keras; tensorflow.constant(0)"}
FRAMEWORK_FIRST_STEPS = {
    "torch": "import torch; w = torch.zeros(1, requires_grad=True); step = torch.optim.Adam([w]); "
             "w.sum().backward(); step.step()",
    "keras": "import tensorflow, keras; w = keras.Variable([0.0]); step = keras.optimizers.Adam(); "
             "step.apply([tensorflow.ones(1)], [w])"}
TRAIN = ("--arch", "mlp", "--data", "digits", "--epochs", "1", "--quiet")


def _env() -> dict:
    root = Path(__file__).resolve().parents[2]
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one process (CPU time counts less of a busy machine's other work)."""
    start, cpu = time.perf_counter(), _cpu_of_children()
    done = subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{' '.join(command[1:4])} failed: {tail[0]}")
    return wall, _cpu_of_children() - cpu


def train_once(framework: str, folder: Path) -> dict:
    """One `nnlab train` of an MLP on digits for one epoch: wall, CPU and fit seconds."""
    metrics = folder / f"{framework}.json"
    wall, cpu = _timed([sys.executable, "-m", "experiments", "train", "--framework", framework, *TRAIN,
                   "--metrics-out", str(metrics)], folder)
    return {"wall_s": wall, "cpu_s": cpu, "fit_s": json.loads(metrics.read_text())["train_time_s"]}


def import_once(framework: str, folder: Path, first_step: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds a fresh interpreter takes to import the framework alone (or to
    import it and take one optimizer step: `first_step`)."""
    code = (FRAMEWORK_FIRST_STEPS if first_step else FRAMEWORK_IMPORTS)[framework]
    return _timed([sys.executable, "-c", code], folder)


def startup(frameworks: tuple[str, ...] = ("torch", "keras"), repeats: int = 3, progress=print) -> dict:
    """Per framework: median wall, fit, import and overhead (wall - fit - import) over `repeats`;
    `past_step_s` is the overhead past the framework's import and first step (wall - fit - step)."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="nnlab-startup-") as scratch:
        folder = Path(scratch)
        for framework in frameworks:  # warm-up: the store's tables and the prepared digits
            train_once(framework, folder)
        runs = {f: [] for f in frameworks}
        for repeat in range(repeats):
            for framework in (frameworks if repeat % 2 == 0 else frameworks[::-1]):
                run = train_once(framework, folder)
                run["import_s"], run["import_cpu_s"] = import_once(framework, folder)
                run["step_s"], _ = import_once(framework, folder, first_step=True)
                run["overhead_s"] = run["wall_s"] - run["fit_s"] - run["import_s"]
                run["past_step_s"] = run["wall_s"] - run["fit_s"] - run["step_s"]
                run["overhead_cpu_s"] = run["cpu_s"] - run["fit_s"] - run["import_cpu_s"]
                runs[framework].append(run)
                progress(f"  {framework:6s} wall {run['wall_s']:6.2f} s  fit {run['fit_s']:5.2f} s  "
                         f"import {run['import_s']:5.2f} s (with a first step {run['step_s']:5.2f} s)  "
                         f"overhead {run['overhead_s']:5.2f} s (past the first step {run['past_step_s']:5.2f} s; "
                         f"CPU: {run['overhead_cpu_s']:5.2f} s)")
        for framework, measured in runs.items():
            results[framework] = {key: statistics.median(r[key] for r in measured)
                                  for key in ("wall_s", "fit_s", "import_s", "step_s", "overhead_s",
                                              "past_step_s", "cpu_s", "import_cpu_s", "overhead_cpu_s")}
            results[framework]["repeats"] = repeats
    return results


def format_startup(results: dict) -> str:
    lines = [f"{'framework':9s} {'train wall':>10s} {'fit':>6s} {'import':>7s} {'with a step':>11s} "
             f"{'overhead':>9s} {'past 1st step':>13s} {'overhead in CPU time':>21s}  (medians, s)"]
    for framework, r in results.items():
        lines.append(f"{framework:9s} {r['wall_s']:10.2f} {r['fit_s']:6.2f} {r['import_s']:7.2f} "
                     f"{r['step_s']:11.2f} {r['overhead_s']:9.2f} {r['past_step_s']:13.2f} "
                     f"{r['overhead_cpu_s']:21.2f}")
    return "\n".join(lines)
