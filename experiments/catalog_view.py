"""What `nnlab list` shows: architectures with parameter counts, and datasets.

Counting parameters means building every network in both frameworks, which
takes far longer than a listing should (TensorFlow alone loads in seconds).
The counts are therefore kept in `modules/param_counts.json`, written by
`nnlab list --refresh`; a test rebuilds every network and fails when that
file is stale, so the listing is fast and still true.
"""
from __future__ import annotations

import json
from pathlib import Path

import datamodules
from modules import registry

COUNTS_FILE = Path(__file__).resolve().parent.parent / "modules" / "param_counts.json"


def default_input(arch: registry.Architecture) -> tuple[tuple, int]:
    """(input shape, classes) of an architecture's default data, resized as its default says."""
    info = datamodules.get_info(arch.default_data)
    shape = info.shape
    if info.kind == "image" and arch.default_image_size:
        shape = (shape[0], arch.default_image_size, arch.default_image_size)
    return tuple(shape), info.num_classes


def count_parameters(arch: registry.Architecture, framework: str) -> int:
    """Build `arch` for its default data in `framework` and count its parameters."""
    import importlib

    shape, classes = default_input(arch)
    network = arch.build(framework, shape, classes)
    layers = importlib.import_module(f"modules.toolkit.{framework}_layers")
    return layers.count_parameters(network)


def refresh_parameter_counts(names: list[str] | None = None) -> dict:
    """Recount `names` (default: every architecture) in both frameworks; rewrite the counts file."""
    counts = cached_counts() if names else {}
    for arch in [registry.get(n) for n in names] if names else registry.all_architectures():
        shape, classes = default_input(arch)
        counts[arch.name] = {"data": arch.default_data, "input_shape": list(shape), "num_classes": classes,
                             **{fw: count_parameters(arch, fw) for fw in registry.FRAMEWORKS}}
    tmp = COUNTS_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(counts, indent=1, sort_keys=True) + "\n")
    tmp.replace(COUNTS_FILE)
    return counts


def cached_counts() -> dict:
    return json.loads(COUNTS_FILE.read_text()) if COUNTS_FILE.is_file() else {}


def listing() -> dict:
    """Every architecture and dataset, as plain data."""
    counts = cached_counts()
    archs = []
    for arch in registry.all_architectures():
        shape, classes = default_input(arch)
        cached = counts.get(arch.name, {})
        fresh = cached.get("input_shape") == list(shape) and cached.get("num_classes") == classes
        archs.append({"name": arch.name, "task": arch.task, "family": arch.family,
                      "default_data": arch.default_data, "input_shape": list(shape),
                      "params_torch": cached.get("torch") if fresh else None,
                      "params_keras": cached.get("keras") if fresh else None,
                      "hyperparameters": arch.defaults,
                      "presets": [registry.DEFAULT_PRESET, *arch.presets], "preset_values": arch.presets,
                      "paper": arch.paper})
    data = [{"name": d.name, "kind": d.kind, "shape": list(d.shape), "num_classes": d.num_classes,
             "train": d.splits[0], "val": d.splits[1], "test": d.splits[2], "source": d.source,
             "description": d.description} for d in datamodules.DATASETS.values()]
    return {"architectures": archs, "datasets": data}


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def format_listing(listing: dict) -> str:
    """The listing as two aligned tables."""
    rows = [("ARCHITECTURE", "TASK", "FAMILY", "DEFAULT DATA", "INPUT", "PARAMS TORCH", "PARAMS KERAS", "PRESETS")]
    for a in listing["architectures"]:
        rows.append((a["name"], a["task"], a["family"], a["default_data"], "x".join(map(str, a["input_shape"])),
                     _count(a["params_torch"]), _count(a["params_keras"]), ",".join(a["presets"])))
    rows.append(())
    rows.append(("DATASET", "KIND", "SHAPE", "CLASSES", "TRAIN/VAL/TEST", "SOURCE", "", ""))
    for d in listing["datasets"]:
        rows.append((d["name"], d["kind"], "x".join(map(str, d["shape"])), str(d["num_classes"]),
                     f"{d['train']}/{d['val']}/{d['test']}", d["source"], "", ""))
    widths = [max(len(r[i]) for r in rows if r) for i in range(8)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() if r else "" for r in rows]
    if any(a["params_torch"] is None for a in listing["architectures"]):
        lines.append("\n? = parameter count not cached yet: run `nnlab list --refresh`")
    return "\n".join(lines)
