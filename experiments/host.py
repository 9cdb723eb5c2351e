"""The CPU a run trained on. The same seed gives bitwise-equal metrics on one host, not across
CPUs with other instruction sets (oneDNN and Eigen pick kernels by ISA, so float sums are
ordered differently): docs/reproducibility.md. Runs record it; the report says when the
committed metrics came from another CPU."""
from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
from pathlib import Path

CPU_KEYS = ("cpu", "cpu_isa")


@functools.lru_cache(maxsize=None)
def cpu() -> dict[str, str]:
    """{"cpu": model name, "cpu_isa": a digest of its instruction-set flags} (Linux /proc/cpuinfo)."""
    model, flags = platform.processor() or platform.machine(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name":
                model = value
            elif key in ("flags", "Features") and not flags:
                flags = " ".join(sorted(value.split()))
    except OSError:
        pass
    return {"cpu": model, "cpu_isa": hashlib.sha256(flags.encode()).hexdigest()[:12]}


def committed(path: Path) -> dict | None:
    """The version of JSON file `path` in git's HEAD, or None (not in git, or not committed)."""
    try:
        shown = subprocess.run(["git", "show", f"HEAD:./{path.name}"], capture_output=True, text=True, timeout=30,
                               cwd=path.parent)
    except (OSError, subprocess.SubprocessError):
        return None
    if shown.returncode != 0:
        return None
    try:
        return json.loads(shown.stdout)
    except ValueError:
        return None


def info_of(path: Path) -> Path:
    """The `.info.json` beside a numbers-only metrics file (`files.write_metrics_json`): its CPU and data."""
    return path.with_name(path.stem + ".info.json")


def other_cpu_note(paths: list[Path], metric: str = "test/acc") -> str | None:
    """One line when metrics files differ from their committed versions, on the same data, and
    those came from another CPU (or one that did not record its CPU); None otherwise. A changed
    dataset digest explains a difference by itself, so those files are left out."""
    here, differing = cpu(), []
    for path in paths:
        before, now = committed(path), json.loads(path.read_text())
        info = info_of(path)
        before_info = committed(info) or {}
        now_info = json.loads(info.read_text()) if info.exists() else {}
        same_data = before_info.get("dataset_digest") == now_info.get("dataset_digest")
        if (before and before.get(metric) != now.get(metric) and same_data
                and before_info.get("cpu_isa") != here["cpu_isa"]):
            differing.append((path.stem, before.get(metric), now.get(metric),
                              before_info.get("cpu", "an unrecorded CPU")))
    if not differing:
        return None
    name, old, new, their_cpu = differing[0]
    return (f"note: {len(differing)} result(s) differ from the committed ones, which came from another CPU "
            f"(e.g. {name} {metric} {old} on {their_cpu}, {new} here on {here['cpu']}): the same seed is "
            "bitwise reproducible on one host, not across instruction sets (docs/reproducibility.md)")
