"""The Makefile's install refuses a nearly full disk in one line before pip starts."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def check_disk(min_free_gib: float) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "check-disk", f"MIN_FREE_GIB={min_free_gib}",
                           f"PYTHON={sys.executable}"], cwd=ROOT, capture_output=True, text=True)


def test_check_disk_refuses_when_less_is_free_than_an_install_needs():
    free_gib = shutil.disk_usage(ROOT).free / 2**30
    refused = check_disk(free_gib * 4 + 1)
    assert refused.returncode != 0
    ours = [line for line in refused.stderr.splitlines() if line.startswith("nnlab:")]
    assert len(ours) == 1 and "GiB is free" in ours[0] and "free some space" in ours[0]
    assert refused.stdout == ""


def test_check_disk_passes_when_enough_is_free():
    passed = check_disk(0)
    assert passed.returncode == 0 and passed.stderr == ""
