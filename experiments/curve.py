"""A learning curve: test accuracy against the number of training images.

Each point is an ordinary training run (`experiments.train.train`) with `--data-option
train_size=N`, nested under one parent MLflow run; the curve is written as a CSV, a markdown
table and a PNG (mean over seeds, with their min-max), and logged as the parent's artifacts.
Every run is resolved (and so validated) before the first one trains.
"""
from __future__ import annotations

import csv
import statistics
from pathlib import Path

from experiments.files import atomic_path, check_output_path
from experiments.plan import RunPlan, resolve
from modules.errors import UserError

METRIC = "test/acc"
COLUMNS = ("framework", "train_size", "seeds", "test_acc_mean", "test_acc_min", "test_acc_max",
           "train_time_s_mean", "run_ids")


def plan_points(given: dict, train_sizes: list[int], frameworks: list[str], seeds: list[int]) -> list[RunPlan]:
    """One resolved run per (framework, train size, seed); a bad size, framework or setting is
    one line here, before anything trains."""
    for what, values in (("--train-sizes", train_sizes), ("--frameworks", frameworks), ("--seeds", seeds)):
        if not values:
            raise UserError(f"{what} is empty; give at least one value, e.g. --train-sizes 1000,2000")
    if "train_size" in (given.get("data_options") or {}):
        raise UserError("--data-option train_size is what --train-sizes varies; drop it")
    plans = []
    for framework in frameworks:
        for size in train_sizes:
            for seed in seeds:
                options = {**(given.get("data_options") or {}), "train_size": size}
                plans.append(resolve({**given, "framework": framework, "seed": seed, "data_options": options}))
    return plans


def curve_name(plan: RunPlan) -> str:
    """`<data>-<arch>`: the stem of the curve's files and the value of `tracking.CURVE_TAG`."""
    return f"{plan.data.name}-{plan.arch.name}"


def summarize(points: list[dict]) -> list[dict]:
    """One row per (framework, train size): the mean, min and max of `METRIC` over the seeds."""
    rows = []
    for key in sorted({(p["framework"], p["train_size"]) for p in points}, key=lambda k: (k[0] != "torch", k)):
        mine = [p for p in points if (p["framework"], p["train_size"]) == key]
        scores = [p[METRIC] for p in mine]
        rows.append({"framework": key[0], "train_size": key[1], "seeds": " ".join(str(p["seed"]) for p in mine),
                     "test_acc_mean": round(statistics.fmean(scores), 4), "test_acc_min": round(min(scores), 4),
                     "test_acc_max": round(max(scores), 4),
                     "train_time_s_mean": round(statistics.fmean(p["train_time_s"] for p in mine), 1),
                     "run_ids": " ".join(p["run_id"] for p in mine)})
    return rows


def spread(row: dict) -> str:
    """`mean (min-max)` of a summary row; the mean alone for one seed."""
    if row["test_acc_min"] == row["test_acc_max"]:
        return f"{row['test_acc_mean']:.4f}"
    return f"{row['test_acc_mean']:.4f} ({row['test_acc_min']:.4f}-{row['test_acc_max']:.4f})"


def markdown(rows: list[dict], title: str) -> str:
    """The curve as a table: one row per train size, one column per framework, `mean (min-max)`."""
    frameworks = list(dict.fromkeys(r["framework"] for r in rows))
    cell = {(r["framework"], r["train_size"]): r for r in rows}
    lines = [f"# {title}", "", f"{METRIC}, mean over seeds (min-max)", "",
             "| training images | " + " | ".join(frameworks) + " |", "|---:|" + "---:|" * len(frameworks)]
    for size in sorted({r["train_size"] for r in rows}):
        cells = [spread(cell[framework, size]) if (framework, size) in cell else "" for framework in frameworks]
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], title: str, path: Path) -> Path:
    """Test accuracy against training images, one line per framework, the seeds' min-max shaded."""
    from experiments.plots import save_figure, subplots

    fig, ax = subplots(figsize=(5.5, 3.8))
    for framework, marker in zip(dict.fromkeys(r["framework"] for r in rows), "os^v"):
        mine = sorted((r for r in rows if r["framework"] == framework), key=lambda r: r["train_size"])
        sizes = [r["train_size"] for r in mine]
        line, = ax.plot(sizes, [r["test_acc_mean"] for r in mine], marker=marker, label=framework)
        ax.fill_between(sizes, [r["test_acc_min"] for r in mine], [r["test_acc_max"] for r in mine],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set(title=title, xlabel="training images", ylabel=f"{METRIC} (mean, min-max over seeds)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return save_figure(fig, path)


def write_outputs(rows: list[dict], folder: Path, stem: str, title: str) -> dict[str, Path]:
    """`<folder>/<stem>.csv`, `.md` and `.png`, each written atomically."""
    folder = Path(folder)
    paths = {ext: folder / f"{stem}.{ext}" for ext in ("csv", "md", "png")}
    check_output_path(paths["csv"])
    try:
        with atomic_path(paths["csv"]) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        with atomic_path(paths["md"]) as tmp:
            tmp.write_text(markdown(rows, title))
        plot(rows, title, paths["png"])
    except OSError as err:
        raise UserError(f"cannot write into {folder}/: {err.strerror}; pass a writable --out") from None
    return paths


def run_curve(plans: list[RunPlan], out: Path, say=print) -> list[dict]:
    """Train every planned point under one parent MLflow run, rewriting the curve's files after
    each (a curve stopped halfway keeps what it measured); return the summary rows."""
    from experiments import tracking
    from experiments.train import train

    first = plans[0]
    name = curve_name(first)
    title = f"{first.arch.name} on {first.data.name}: test accuracy vs training images"
    config = first.config
    sizes = sorted({p.config.data_options["train_size"] for p in plans})
    params = {"arch": first.arch.name, "data": first.data.name, "train_epochs": config.epochs,
              "train_sizes": ",".join(map(str, sizes)),
              "frameworks": ",".join(dict.fromkeys(p.config.framework for p in plans)),
              "seeds": ",".join(map(str, dict.fromkeys(p.config.seed for p in plans))), "runs": len(plans),
              "out": str(out)}
    tags = {tracking.CURVE_TAG: name, tracking.ORIGIN_TAG: "curve", "arch": first.arch.name,
            "data": first.data.name}
    points: list[dict] = []
    with tracking.tracked_run(config.experiment or config.data, f"curve:{name}", params, tags) as parent:
        say(f"learning curve {name}: {len(plans)} runs, MLflow parent run {parent.run_id}")
        for i, plan in enumerate(plans, 1):
            c = plan.config
            point = f"n={c.data_options['train_size']} seed={c.seed}"
            summary = train(plan, progress=lambda *a: None, parent_run_id=parent.run_id,
                            tags={tracking.CURVE_TAG: name, "curve.point": point})
            points.append({"framework": c.framework, "train_size": c.data_options["train_size"], "seed": c.seed,
                           METRIC: summary[METRIC], "train_time_s": summary["train_time_s"],
                           "run_id": summary["run_id"]})
            say(f"  [{i}/{len(plans)}] {c.framework:6s} train_size {c.data_options['train_size']:>6,}  "
                f"seed {c.seed}  {METRIC} {summary[METRIC]:.4f}  {summary['train_time_s']:.0f}s  "
                f"run {summary['run_id']}")
            rows = summarize(points)
            paths = write_outputs(rows, out, name, title)
        for r in rows:  # the MLflow UI draws these against their step: the curve
            parent.log_metrics({f"curve/{r['framework']}/test_acc_mean": r["test_acc_mean"]},
                               step=r["train_size"], epoch_step=False)
        for path in paths.values():
            parent.log_artifact(path, "curve")
    return rows
