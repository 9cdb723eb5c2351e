"""Published results the lab's runs are set beside, with the targets the lab holds itself to.

Fashion-MNIST: Zalando's benchmark table (Xiao, Rasul & Vollgraf 2017), the rows that match a lab
architecture, https://github.com/zalandoresearch/fashion-mnist#benchmark. `nnlab report
--published fashion_mnist` (the report stage of `pipelines/fashion_mnist/dvc.yaml`) writes the
comparison; docs/published.md quotes it.
"""
from __future__ import annotations

from dataclasses import dataclass

ZALANDO_BENCHMARK = "https://github.com/zalandoresearch/fashion-mnist#benchmark"

# Both twins of a row must agree this closely on the full test set, and each must train within
# this time on a 2-core CPU (issue 17's budget, per framework).
MAX_FRAMEWORK_GAP = 0.005
TIME_BUDGET_S = 75 * 60


@dataclass(frozen=True)
class Reference:
    """One published row: what it trained, its test accuracy, and the lab's target for `arch`."""

    arch: str
    network: str
    accuracy: float
    target: float
    source: str = ZALANDO_BENCHMARK


PUBLISHED = {
    "fashion_mnist": (
        Reference("mlp", "MLP 256-128-100", 0.883, 0.885),
        Reference("lenet5", "2 conv + pooling", 0.916, 0.905),
        Reference("alexnet", "3 conv + BN + pooling", 0.921, 0.920),
        Reference("vgg11", "VGG16", 0.935, 0.935),
        Reference("googlenet", "GoogLeNet", 0.937, 0.935),
        Reference("resnet20", "ResNet18 + augmentation", 0.949, 0.940),
        Reference("densenet_bc40", "DenseNet-BC 768K + augmentation", 0.954, 0.940),
    ),
}


def verdict(ref: Reference, scores: dict[str, float | None], times: dict[str, float | None]) -> str:
    """`met`, or what keeps the row from it (not run, below target, twins apart, over time)."""
    missing = [fw for fw in ("torch", "keras") if scores.get(fw) is None]
    if missing:
        return "not run" if len(missing) == 2 else f"not run in {missing[0]}"
    problems = [f"{fw} below {ref.target}" for fw in ("torch", "keras") if scores[fw] < ref.target]
    if abs(scores["torch"] - scores["keras"]) > MAX_FRAMEWORK_GAP:
        problems.append(f"|torch - keras| > {MAX_FRAMEWORK_GAP}")
    problems += [f"{fw} over {TIME_BUDGET_S // 60} min" for fw in ("torch", "keras")
                 if (times.get(fw) or 0) > TIME_BUDGET_S]
    return "; ".join(problems) or "met"


def comparison_rows(data: str, runs: list[dict]) -> list[dict]:
    """One row per published reference of `data`: the lab's torch and Keras scores and times beside it.

    `runs` are report rows (`arch`, `framework`, `test_acc`, `train_time_s`); with several runs of
    one twin (seeds), their mean is compared."""
    rows = []
    for ref in PUBLISHED.get(data, ()):
        scores, times = {}, {}
        for fw in ("torch", "keras"):
            mine = [r for r in runs if r["arch"] == ref.arch and r["framework"] == fw and r["test_acc"] is not None]
            scores[fw] = sum(r["test_acc"] for r in mine) / len(mine) if mine else None
            times[fw] = max(r["train_time_s"] for r in mine) if mine else None
        gap = abs(scores["torch"] - scores["keras"]) if None not in scores.values() else None
        rows.append({"arch": ref.arch, "published_network": ref.network, "published": ref.accuracy,
                     "target": ref.target, "torch": scores["torch"], "keras": scores["keras"], "gap": gap,
                     "torch_min": times["torch"] and times["torch"] / 60,
                     "keras_min": times["keras"] and times["keras"] / 60,
                     "verdict": verdict(ref, scores, times)})
    return rows


def comparison_markdown(data: str, rows: list[dict]) -> str:
    """The comparison as a Markdown table, with its source."""
    def num(x, fmt):
        return "-" if x is None else format(x, fmt)

    lines = [f"# {data}: the lab beside the published table", "",
             f"Published: {PUBLISHED[data][0].source}. Targets: each framework on the full test set; "
             f"|torch - keras| <= {MAX_FRAMEWORK_GAP}; at most {TIME_BUDGET_S // 60} min of training per "
             "framework on the machine that ran it.", "",
             "| architecture | published network | published | target | torch | keras | gap | torch min | "
             "keras min | verdict |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['arch']} | {r['published_network']} | {r['published']:.3f} | {r['target']:.3f} | "
                     f"{num(r['torch'], '.4f')} | {num(r['keras'], '.4f')} | {num(r['gap'], '.4f')} | "
                     f"{num(r['torch_min'], '.1f')} | {num(r['keras_min'], '.1f')} | {r['verdict']} |")
    return "\n".join(lines) + "\n"
