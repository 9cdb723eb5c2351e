"""The code's shape: imports run downward only (experiments -> datamodules -> modules), and
start-up paths import no framework."""
from __future__ import annotations

import ast
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
