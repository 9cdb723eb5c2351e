"""The code's shape: imports run downward only (experiments -> datamodules -> modules), and
start-up paths import no framework."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

# who may import whom: a package may import itself and the packages listed after it
LAYERS = ("experiments", "datamodules", "modules")


def lab_imports(path: Path) -> set[str]:
    """Top-level lab packages that `path` imports anywhere (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names if name.split(".")[0] in LAYERS}
    return found


@pytest.mark.parametrize("package", LAYERS[1:])
def test_no_import_runs_up_from_modules_or_datamodules(package):
    above = set(LAYERS[:LAYERS.index(package)])
    upward = {str(path.relative_to(ROOT)): sorted(lab_imports(path) & above)
              for path in sorted((ROOT / package).rglob("*.py")) if lab_imports(path) & above}
    assert upward == {}, f"{package}/ imports a package above it: {upward}"


def test_help_and_list_import_no_framework():
    code = ("import sys; from experiments.cli import main; main(['list']); "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras', 'lightning') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


# a framework's run loads its own package and never the other framework's, nor what it does not
# use: a torch run on digits needs Fabric alone (`lightning_fabric`), not `lightning` (whose
# `__init__` imports lightning.pytorch), torchmetrics or torchvision (docs/benchmarks.md, start-up);
# MLflow is imported by the command's tracking process (experiments/tracking_process.py), not by it
OWN = {"keras": "tensorflow", "torch": "torch"}
FOREIGN = {"keras": ("torch", "torchvision", "lightning", "lightning_fabric", "torchmetrics", "mlflow"),
           "torch": ("tensorflow", "keras", "lightning", "pytorch_lightning", "torchvision", "torchmetrics",
                     "mlflow")}


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_a_train_run_imports_only_its_own_framework(framework, lab_dir):
    code = ("import sys\nfrom experiments.cli import main\n"
            f"code = main(['train', '--framework', '{framework}', '--arch', 'mlp', '--data', 'digits', "
            "'--epochs', '1', '--limit-batches', '2', '--quiet'])\n"
            "print('PYPLOT', 'matplotlib.pyplot' in sys.modules)\n"
            "print('LOADED', sorted({m.split('.')[0] for m in sys.modules}))\nsys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=lab_dir,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = ast.literal_eval(result.stdout.split("LOADED ")[-1].strip())
    assert OWN[framework] in loaded
    assert sorted(set(FOREIGN[framework]) & set(loaded)) == []
    # the lab's plots draw on bare matplotlib figures, pyplot would add 0.4 s (experiments/plots.py);
    # Keras 3 imports pyplot itself (keras/src/visualization/plot_image_gallery.py)
    assert framework == "keras" or "PYPLOT False" in result.stdout
