"""The comparison report: a leaderboard and plots over the runs a pipeline trained."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from experiments.plots import pyplot

COLUMNS = ("arch", "framework", "data", "n_params", "test_acc", "train_time_s", "run_id")


def pipeline_runs() -> set[str] | None:
    """`<framework>-<arch>` names of params.yaml's pipeline matrix (None without one)."""
    import yaml

    path = Path("params.yaml")
    if not path.is_file():
        return None
    pipeline = (yaml.safe_load(path.read_text()) or {}).get("pipeline")
    if not pipeline:
        return None
    return {f"{fw}-{arch}" for fw in pipeline.get("frameworks", []) for arch in pipeline.get("archs", [])}


def collect(train_dir: Path) -> list[dict]:
    """One row per `metrics/train/*.json` of the current pipeline matrix, best accuracy first
    (files left by architectures since dropped from the matrix are not shown)."""
    rows = []
    wanted = pipeline_runs()
    for path in sorted(Path(train_dir).glob("*.json")):
        if wanted is not None and path.stem not in wanted:
            continue
        m = json.loads(path.read_text())
        score = m.get("test/acc", m.get("test/exact_match"))
        rows.append({"arch": m["arch"], "framework": m["framework"], "data": m["data"],
                     "n_params": m["n_params"], "test_acc": score,
                     "train_time_s": round(m["train_time_s"], 2), "run_id": m["run_id"]})
    return sorted(rows, key=lambda r: (-(r["test_acc"] if r["test_acc"] is not None else -1), r["arch"]))


def learning_curves(rows: list[dict]) -> list[dict]:
    """Per-epoch validation accuracy and loss of each run, read back from MLflow."""
    import mlflow

    from experiments.tracking import tracking_uri

    client = mlflow.MlflowClient(tracking_uri())
    points = []
    for row in rows:
        for key in ("val/acc", "val/loss"):
            for m in client.get_metric_history(row["run_id"], key):
                points.append({"run": f"{row['framework']}-{row['arch']}", "framework": row["framework"],
                               "arch": row["arch"], "epoch": m.step, "metric": key, "value": m.value})
    return points


def write_csv(path: Path, rows: list[dict], columns) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows({k: r.get(k) for k in columns} for r in rows)
    return path


def leaderboard_markdown(rows: list[dict], tune: dict | None) -> str:
    lines = ["# nnlab leaderboard", "",
             "| rank | architecture | framework | data | params | test acc | train s | MLflow run |",
             "|---:|---|---|---|---:|---:|---:|---|"]
    for i, r in enumerate(rows, 1):
        acc = f"{r['test_acc']:.4f}" if r["test_acc"] is not None else "-"
        lines.append(f"| {i} | {r['arch']} | {r['framework']} | {r['data']} | {r['n_params']:,} | {acc} | "
                     f"{r['train_time_s']:.1f} | `{r['run_id']}` |")
    if tune:
        lines += ["", "## Optuna study", "", "```json", json.dumps(tune, indent=2), "```"]
    return "\n".join(lines) + "\n"


def scatter(rows: list[dict], x: str, xlabel: str, path: Path, log_x: bool = False) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for framework, marker in (("torch", "o"), ("keras", "s"), ("numpy", "^")):
        mine = [r for r in rows if r["framework"] == framework and r["test_acc"] is not None]
        ax.scatter([r[x] for r in mine], [r["test_acc"] for r in mine], marker=marker, label=framework)
        for r in mine:
            ax.annotate(r["arch"], (r[x], r["test_acc"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if log_x:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel="test accuracy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def curves_png(points: list[dict], path: Path) -> Path:
    plt = pyplot()
    frameworks = sorted({p["framework"] for p in points}) or ["torch"]
    fig, axes = plt.subplots(1, len(frameworks), figsize=(5 * len(frameworks), 3.5), squeeze=False)
    for ax, framework in zip(axes[0], frameworks):
        for run in sorted({p["run"] for p in points if p["framework"] == framework}):
            mine = [p for p in points if p["run"] == run and p["metric"] == "val/acc"]
            ax.plot([p["epoch"] for p in mine], [p["value"] for p in mine], marker=".", label=run)
        ax.set(title=framework, xlabel="epoch", ylabel="val/acc")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def build_report(train_dir: Path, tune_dir: Path | None, out: Path) -> dict:
    """Write leaderboard.{md,csv,json}, scatter/curve CSVs for `dvc plots`, and PNGs into `out`."""
    from experiments.files import write_json_atomic
    from modules.errors import UserError

    rows = collect(train_dir)
    if not rows:
        raise UserError(f"no training metrics in {train_dir}: run the train stage first (dvc repro train)")
    tune = None
    if tune_dir and (Path(tune_dir) / "best.json").is_file():
        tune = json.loads((Path(tune_dir) / "best.json").read_text())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "leaderboard.csv", rows, COLUMNS)
    (out / "leaderboard.md").write_text(leaderboard_markdown(rows, tune))
    points = learning_curves(rows)
    write_csv(out / "learning_curves.csv", [p for p in points if p["metric"] == "val/acc"],
              ("run", "framework", "arch", "epoch", "value"))
    scatter(rows, "n_params", "parameters", out / "accuracy_vs_params.png", log_x=True)
    scatter(rows, "train_time_s", "training time (s)", out / "accuracy_vs_time.png")
    curves_png(points, out / "learning_curves.png")
    best = rows[0]
    summary = {"best_arch": best["arch"], "best_framework": best["framework"],
               "best_test_acc": best["test_acc"], "runs": len(rows),
               "mean_test_acc": {fw: round(sum(r["test_acc"] for r in rows if r["framework"] == fw)
                                           / max(1, sum(r["framework"] == fw for r in rows)), 4)
                                 for fw in sorted({r["framework"] for r in rows})}}
    if tune:
        summary["tune_best_value"] = tune.get("best_value")
    write_json_atomic(out / "summary.json", summary)
    return summary
