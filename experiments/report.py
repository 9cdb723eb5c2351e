"""The comparison report: a leaderboard per dataset and plots over the runs a pipeline trained.

Accuracies of different datasets are never ranked or averaged together; the twins (torch and
Keras of one architecture on one dataset) share a panel and a leaderboard section."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from experiments.plots import subplots

COLUMNS = ("arch", "framework", "data", "n_params", "test_acc", "train_time_s", "run_id")


def pipeline_runs(params: Path = Path("params.yaml")) -> set[str] | None:
    """`<framework>-<arch>` names of the runs a params file's pipeline trains (None without one):
    the `pipeline:` matrix of frameworks x architectures, or the keys of `runs:` (one recipe each,
    as in pipelines/fashion_mnist/params.yaml)."""
    import yaml

    if not params.is_file():
        return None
    settings = yaml.safe_load(params.read_text()) or {}
    if settings.get("runs"):
        return set(settings["runs"])
    pipeline = settings.get("pipeline")
    if not pipeline:
        return None
    return {f"{fw}-{arch}" for fw in pipeline.get("frameworks", []) for arch in pipeline.get("archs", [])}


def collect(train_dir: Path, params: Path = Path("params.yaml")) -> list[dict]:
    """One row per `<train_dir>/*.json` of the current pipeline's runs, best accuracy first
    (files left by runs since dropped from the pipeline are not shown)."""
    rows = []
    wanted = pipeline_runs(params)
    from experiments.files import INFO_SUFFIX, info_path

    for path in sorted(Path(train_dir).glob("*.json")):
        if path.name.endswith(INFO_SUFFIX) or (wanted is not None and path.stem not in wanted):
            continue
        m = json.loads(path.read_text())
        if info_path(path).is_file():  # names and run id beside the numbers
            m.update(json.loads(info_path(path).read_text()))
        score = m.get("test/acc", m.get("test/exact_match"))
        rows.append({"run": path.stem, "arch": m["arch"], "framework": m["framework"], "data": m["data"],
                     "n_params": m["n_params"], "test_acc": score,
                     "train_time_s": round(m["train_time_s"], 2), "run_id": m["run_id"]})
    return sorted(rows, key=lambda r: (r["data"], -(r["test_acc"] if r["test_acc"] is not None else -1),
                                       r["arch"], r["framework"]))


def learning_curves(rows: list[dict]) -> list[dict]:
    """Per-epoch validation accuracy and loss of each run, read back from MLflow."""
    import mlflow

    from experiments.tracking import tracking_uri

    client = mlflow.MlflowClient(tracking_uri())
    points = []
    for row in rows:
        for key in ("val/acc", "val/loss"):
            for m in client.get_metric_history(row["run_id"], key):
                run = row["run"] if row["run"].endswith(row["data"]) else f"{row['run']}-{row['data']}"
                points.append({"run": run,
                               "framework": row["framework"], "arch": row["arch"], "data": row["data"],
                               "epoch": m.step, "metric": key, "value": m.value})
    return points


def write_csv(path: Path, rows: list[dict], columns) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows({k: r.get(k) for k in columns} for r in rows)
    return path


def leaderboard_markdown(rows: list[dict], tune: dict | None) -> str:
    """One ranked table per dataset (accuracies of different datasets do not compare)."""
    lines = ["# nnlab leaderboard"]
    for data in sorted({r["data"] for r in rows}):
        lines += ["", f"## {data}", "",
                  "| rank | architecture | framework | params | test acc | train s | MLflow run |",
                  "|---:|---|---|---:|---:|---:|---|"]
        for i, r in enumerate((r for r in rows if r["data"] == data), 1):
            acc = f"{r['test_acc']:.4f}" if r["test_acc"] is not None else "-"
            lines.append(f"| {i} | {r['arch']} | {r['framework']} | {r['n_params']:,} | {acc} | "
                         f"{r['train_time_s']:.1f} | `{r['run_id']}` |")
    if tune:
        lines += ["", "## Optuna study", "", "```json", json.dumps(tune, indent=2), "```"]
    return "\n".join(lines) + "\n"


MARKERS = {"torch": "o", "keras": "s", "numpy": "^"}


def scatter(rows: list[dict], x: str, xlabel: str, path: Path, log_x: bool = False) -> Path:
    """Test accuracy against `x`, one panel per dataset; the legend lists the frameworks that ran."""
    datasets = sorted({r["data"] for r in rows})
    fig, axes = subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for ax, data in zip(axes[0], datasets):
        for framework in sorted({r["framework"] for r in rows}):
            mine = [r for r in rows if r["framework"] == framework and r["data"] == data
                    and r["test_acc"] is not None]
            if not mine:
                continue
            ax.scatter([r[x] for r in mine], [r["test_acc"] for r in mine],
                       marker=MARKERS.get(framework, "x"), label=framework)
            for r in mine:
                ax.annotate(r["arch"], (r[x], r["test_acc"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        if log_x:
            ax.set_xscale("log")
        ax.set(title=data, xlabel=xlabel, ylabel="test accuracy")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def curves_png(points: list[dict], path: Path) -> Path:
    """Validation accuracy per epoch: one panel per (dataset, architecture), one line per run of
    it (its torch and Keras twins, and their seeds)."""
    panels = sorted({(p["data"], p["arch"]) for p in points}) or [("", "")]
    fig, axes = subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    for ax, (data, arch) in zip(axes[0], panels):
        for run in sorted({p["run"] for p in points if (p["data"], p["arch"]) == (data, arch)}):
            mine = [p for p in points if p["run"] == run and p["metric"] == "val/acc"]
            ax.plot([p["epoch"] for p in mine], [p["value"] for p in mine], label=run.removesuffix(f"-{data}"),
                    marker=MARKERS.get(mine[0]["framework"], ".") if mine else ".")
        ax.set(title=f"{arch} on {data}", xlabel="epoch", ylabel="val/acc")
        ax.xaxis.get_major_locator().set_params(integer=True)  # epochs are whole numbers, from 1
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def wide_curves(points: list[dict]) -> tuple[list[dict], list[str]]:
    """Validation accuracy per epoch with one column per run (`torch-lenet5-digits`), so that
    `dvc plots show` draws one line per run (its linear template draws one line per column)."""
    series = sorted({p["run"] for p in points if p["metric"] == "val/acc"})
    by_epoch: dict[int, dict] = {}
    for p in points:
        if p["metric"] == "val/acc":
            by_epoch.setdefault(p["epoch"], {"epoch": p["epoch"]})[p["run"]] = p["value"]
    return [by_epoch[e] for e in sorted(by_epoch)], ["epoch", *series]


def wide_scatter(rows: list[dict]) -> tuple[list[dict], list[str]]:
    """Test accuracy by parameter count with one column per framework and dataset
    (`torch-digits`), so that `dvc plots show` tells the frameworks and datasets apart."""
    series = sorted({f"{r['framework']}-{r['data']}" for r in rows})
    table = [{"n_params": r["n_params"], f"{r['framework']}-{r['data']}": r["test_acc"]} for r in rows]
    return sorted(table, key=lambda r: r["n_params"]), ["n_params", *series]


def build_report(train_dir: Path, tune_dir: Path | None, out: Path, params: Path = Path("params.yaml"),
                 published: str | None = None) -> dict:
    """Write leaderboard.{md,csv,json}, scatter/curve CSVs for `dvc plots`, and PNGs into `out`;
    with `published` (a dataset of `experiments.published`), also published.{md,csv}: the runs
    beside the published table."""
    from experiments.files import write_json_atomic
    from modules.errors import UserError

    rows = collect(train_dir, params)
    if not rows:
        raise UserError(f"no training metrics in {train_dir}: run the train stage first (dvc repro train)")
    tune = None
    if tune_dir and (Path(tune_dir) / "best.json").is_file():
        from experiments.files import info_path

        tune = json.loads((Path(tune_dir) / "best.json").read_text())
        if info_path(Path(tune_dir) / "best.json").is_file():
            tune.update(json.loads(info_path(Path(tune_dir) / "best.json").read_text()))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "leaderboard.csv", rows, COLUMNS)
    (out / "leaderboard.md").write_text(leaderboard_markdown(rows, tune))
    points = learning_curves(rows)
    write_csv(out / "learning_curves.csv", *wide_curves(points))
    write_csv(out / "accuracy_vs_params.csv", *wide_scatter(rows))
    scatter(rows, "n_params", "parameters", out / "accuracy_vs_params.png", log_x=True)
    scatter(rows, "train_time_s", "training time (s)", out / "accuracy_vs_time.png")
    curves_png(points, out / "learning_curves.png")
    # numbers only (a DVC metric), per dataset and run (the metrics file's name, so a second seed
    # keeps its own entry): {"mnist_5k": {"torch-lenet5": 0.97, ...}, ...}
    summary = {"runs": len(rows), "test_acc": {
        data: {r["run"]: r["test_acc"] for r in rows if r["data"] == data}
        for data in sorted({r["data"] for r in rows})}}
    if tune and tune.get("best_value") is not None:
        summary["tune_best_value"] = tune["best_value"]
    if published:
        from experiments.published import comparison_markdown, comparison_rows

        table = comparison_rows(published, [r for r in rows if r["data"] == published])
        write_csv(out / "published.csv", table, list(table[0]))
        (out / "published.md").write_text(comparison_markdown(published, table))
        summary["published_met"] = sum(r["verdict"] == "met" for r in table)
    write_json_atomic(out / "summary.json", summary)
    return summary
