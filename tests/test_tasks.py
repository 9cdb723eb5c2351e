"""The table of tasks: one folder per task, the names the registry validates."""
from __future__ import annotations

import pytest

from tests.conftest import ROOT


def test_the_task_table_lists_the_registrys_task_names_in_order():
    from experiments import tasks
    from modules import registry

    assert tuple(tasks.TASKS) == registry.TASKS


def test_every_task_folder_holds_both_twins_and_a_scorer():
    from experiments import tasks

    folders = {p.parent.name for p in (ROOT / "experiments" / "tasks").glob("*/scorer.py")}
    assert folders == set(tasks.TASKS)
    for task in tasks.TASKS:
        folder = ROOT / "experiments" / "tasks" / task
        assert {"__init__.py", "torch_task.py", "keras_task.py", "scorer.py"} <= {p.name for p in folder.iterdir()}
        scorer = tasks.scorer(task)
        assert callable(scorer.evaluate) and callable(scorer.artifacts)


def test_an_unknown_task_or_framework_is_one_clear_line():
    from experiments import tasks
    from modules.errors import UserError

    with pytest.raises(UserError, match="implemented: classify, reconstruct"):
        tasks.scorer("segment")
    with pytest.raises(UserError, match="frameworks: torch, keras"):
        tasks.task_class("classify", "jax")


def test_the_twins_of_each_task_define_the_class_the_table_names():
    """Read without importing a framework: each twin defines `class <name>(`."""
    from experiments import tasks

    for task, name in tasks.TASKS.items():
        for framework in ("torch", "keras"):
            source = (ROOT / "experiments" / "tasks" / task / f"{framework}_task.py").read_text()
            assert f"class {name}(" in source, (task, framework)
