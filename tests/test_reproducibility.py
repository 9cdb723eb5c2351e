"""Reproducibility across hosts (issue 21). On one host the same seed gives bitwise-equal metrics:
tests/test_training.py::test_same_seed_gives_the_same_metrics (both frameworks). Across CPUs with
other instruction sets it does not (docs/reproducibility.md): runs record their CPU, and the report
says in one line when the committed metrics came from another CPU."""
from __future__ import annotations

import json
import subprocess

from experiments import host


def write_metrics(folder, acc: float, cpu: dict, digest: str = "d1") -> None:
    """A numbers-only metrics file and its `.info.json` (CPU, data digest), as `nnlab train` writes them."""
    (folder / "torch-mlp.json").write_text(json.dumps({"test/acc": acc}))
    (folder / "torch-mlp.info.json").write_text(json.dumps({**cpu, "dataset_digest": digest}))


def commit_metrics(folder, acc: float, cpu: dict, digest: str = "d1") -> None:
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    write_metrics(folder, acc, cpu, digest)
    subprocess.run(["git", "-C", str(folder), "add", "."], check=True)
    subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "m"],
                   check=True)


OTHER = {"cpu": "Other CPU", "cpu_isa": "000000000000"}


def test_the_cpu_is_a_model_name_and_a_digest_of_its_instruction_set():
    found = host.cpu()
    assert set(found) == set(host.CPU_KEYS) and found["cpu"] and len(found["cpu_isa"]) == 12


def test_the_report_notes_metrics_that_differ_from_ones_committed_on_another_cpu(lab_dir):
    commit_metrics(lab_dir, 0.646, OTHER)
    write_metrics(lab_dir, 0.643, host.cpu())
    note = host.other_cpu_note([lab_dir / "torch-mlp.json"])
    assert note.startswith("note: 1 result(s) differ from the committed ones, which came from another CPU")
    assert "torch-mlp test/acc 0.646 on Other CPU, 0.643 here" in note and "docs/reproducibility.md" in note


def test_no_note_when_the_metrics_came_from_this_cpu_or_other_data(lab_dir):
    commit_metrics(lab_dir, 0.646, host.cpu())
    write_metrics(lab_dir, 0.643, host.cpu())
    assert host.other_cpu_note([lab_dir / "torch-mlp.json"]) is None  # this CPU: a real change
    commit_metrics(lab_dir, 0.646, OTHER, digest="d0")
    write_metrics(lab_dir, 0.643, host.cpu(), digest="d1")
    assert host.other_cpu_note([lab_dir / "torch-mlp.json"]) is None  # the data changed: that explains it
    (lab_dir / "other.json").write_text("{}")
    assert host.other_cpu_note([lab_dir / "other.json"]) is None  # not committed
