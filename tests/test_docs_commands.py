"""Every shell command the README and docs/ show as runnable runs, exits 0 and prints no traceback.

Each shell block (```bash, ```sh, ```shell, ```console) in README.md and docs/*.md is preceded by
`<!-- runnable -->` or `<!-- not runnable: REASON -->` (an HTML comment: GitHub does not render
it). A runnable block's commands run in order, in a fresh lab folder (the `lab_dir` fixture: its
own MLflow store) holding a copy of the repository's `params.yaml`, with `nnlab` and
`python -m experiments` as this interpreter's `python -m experiments` and PYTHONPATH the
repository. A block is plain commands, one a line (`\\` continues a line, `#` starts a comment):
no pipes, redirections or variables, so what runs is what the reader sees.

The only changes to a command are the declared ones in SHRINK: the values of these flags are
replaced, so an example can show realistic settings and still run in seconds here. A training
command without `--epochs` takes params.yaml's `train.epochs`, which the lab copy sets to
PARAMS_EPOCHS; an architecture whose registry entry sets its own epochs must show `--epochs` in a
runnable block.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
RUNNABLE = "<!-- runnable -->"
NOT_RUNNABLE = re.compile(r"<!-- not runnable: \S.*-->")
# flag -> the value it runs with here (the only substitutions made in a documented command)
SHRINK = {"--epochs": "1", "--trials": "2", "--repeats": "1"}
PARAMS_EPOCHS = 1  # params.yaml's train.epochs in the lab copy
SHELL_SYNTAX = re.compile(r"[|;&<>$`]")
FENCE = re.compile(r"^```(\w*)\s*$")


def shell_blocks(path: Path) -> list[dict]:
    """Fenced shell blocks of a Markdown file: {line, marker, commands} (marker: the comment line above)."""
    lines = path.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        if opening.group(1) in SHELL_LANGUAGES:
            above = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            blocks.append({"line": i + 1, "marker": above, "commands": commands(lines[i + 1:end])})
        i = end + 1
    return blocks


def commands(body: list[str]) -> list[str]:
    """The commands of a block's lines: continuations joined, comments and blank lines dropped."""
    joined, pending = [], ""
    for line in body:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = shlex.join(shlex.split(pending + line, comments=True))
        pending = ""
        if text:
            joined.append(text)
    return joined


def runnable_blocks() -> list:
    """pytest params: one per runnable block, id `FILE:LINE`."""
    return [pytest.param(block["commands"], id=f"{path.relative_to(ROOT)}:{block['line']}")
            for path in DOCS for block in shell_blocks(path) if block["marker"] == RUNNABLE]


def argv(command: str) -> list[str]:
    """The argv a documented command runs as: `nnlab` -> this interpreter's `-m experiments`; SHRINK applied."""
    words = shlex.split(command)
    if words[0] == "nnlab":
        words = [sys.executable, "-m", "experiments", *words[1:]]
    elif words[:3] == ["python", "-m", "experiments"]:
        words = [sys.executable, *words[1:]]
    else:
        raise AssertionError(f"a runnable command runs nnlab or python -m experiments: {command!r}")
    for i, word in enumerate(words[:-1]):
        if word in SHRINK:
            words[i + 1] = SHRINK[word]
    return words


def test_every_shell_block_says_whether_it_runs():
    unmarked = [f"{path.relative_to(ROOT)}:{block['line']} (above it: {block['marker']!r})"
                for path in DOCS for block in shell_blocks(path)
                if block["marker"] != RUNNABLE and not NOT_RUNNABLE.fullmatch(block["marker"])]
    assert not unmarked, ("precede each shell block with <!-- runnable --> or <!-- not runnable: REASON -->: "
                          + "; ".join(unmarked))


def test_commands_are_in_fenced_blocks():
    # an indented code block cannot carry a marker, so a command in one would never be run
    indented = [f"{path.relative_to(ROOT)}:{n}" for path in DOCS
                for n, line in enumerate(path.read_text().splitlines(), 1)
                if re.match(r"^ {4,}(nnlab|python|dvc|make) ", line)]
    assert not indented, f"show commands in a fenced block with a marker: {indented}"


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_docs_point_at_files_and_headings_that_exist():
    broken = []
    for path in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
            if re.match(r"[a-z]+:", target):  # http(s): links are not checked here
                continue
            file, _, fragment = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if not linked.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
            elif fragment and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", linked.read_text(), flags=re.M)
                if fragment not in {anchor(h) for h in headings}:
                    broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, f"links to missing files or headings: {broken}"


def test_runnable_blocks_are_plain_commands():
    found = [c for param in runnable_blocks() for c in param.values[0]]
    assert any(c.startswith("nnlab train") for c in found), "the parser found no runnable `nnlab train`"
    shell = [c for c in found if SHELL_SYNTAX.search(c)]
    assert not shell, f"runnable blocks hold plain commands (no pipes, redirections or variables): {shell}"
    for command in found:
        argv(command)


@pytest.mark.e2e
@pytest.mark.parametrize("block", runnable_blocks())
def test_documented_commands_run(block, lab_dir):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"]["epochs"] = PARAMS_EPOCHS
    (lab_dir / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for command in block:
        result = subprocess.run(argv(command), capture_output=True, text=True, env=env, cwd=lab_dir,
                                timeout=300)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"`{command}` exited {result.returncode}:\n{output[-3000:]}"
        assert "Traceback" not in output, f"`{command}` printed a traceback:\n{output[-3000:]}"
