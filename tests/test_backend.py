"""`modules.backend`: Fabric alone for a torch run, and the import order that keeps TensorFlow
from segfaulting when both frameworks load in one process (each case in a fresh interpreter)."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def test_fabric_loads_without_torchmetrics_and_keras_after_it_gets_the_whole_torch_side_first():
    code = ("import sys\nfrom modules import backend\n"
            "fabric = backend.fabric()\n"
            "print('FABRIC', sorted(m for m in ('torchmetrics', 'torchvision', 'lightning') if m in sys.modules))\n"
            "from lightning_fabric.utilities.imports import _TORCHMETRICS_GREATER_EQUAL_1_0_0 as probed\n"
            "backend.keras()\n"
            "import torchmetrics\n"
            "names = list(sys.modules)\n"
            "print('ORDER', names.index('torchvision') < names.index('tensorflow'), probed,"
            " hasattr(torchmetrics, 'Metric'), fabric.Fabric.__module__)\n")
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "FABRIC []" in result.stdout
    # torchvision before TensorFlow; the version probe answered from the installed torchmetrics,
    # and the real package (not the stand-in) is what imports later
    assert "ORDER True True True lightning_fabric.fabric" in result.stdout


def test_fabric_after_tensorflow_alone_is_one_clear_error_not_a_segfault():
    code = ("from modules import backend\nbackend.keras_alone()\nbackend.keras()\n"
            "try:\n    backend.fabric()\nexcept RuntimeError as error:\n    print('REFUSED', error)\n")
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "REFUSED Lightning Fabric cannot load after TensorFlow" in result.stdout
