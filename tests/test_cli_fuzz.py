"""Property-style CLI test (issue 21): every option of `train`, `tune`, `parity`, `evaluate`, `zoo`,
`bench` and `curve`, read from the argparse parsers themselves (a new option is covered, or this test names
it), given zero, negative, NaN, infinite, huge and wrongly typed values and unknown names: exit 2
and one line on stderr, never a traceback, never a run left RUNNING.

Most cases end at argument parsing, in this process; the values that parse but are wrong later
(unknown names) run the command in this process up to its check; a few run end to end."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from experiments import cli
from experiments.commands import curve
from tests.conftest import mlflow_runs, run_cli

COMMANDS = ("train", "tune", "parity", "evaluate", "zoo", "bench", "curve")
# a valid command line of each, to which one bad option is added
BASE = {"train": ["train", "--arch", "mlp", "--data", "digits", "--epochs", "1", "--quiet"],
        "tune": ["tune", "--study", "fuzz", "--data", "digits", "--archs", "mlp", "--frameworks", "torch",
                 "--epochs", "1", "--trials", "1", "--quiet"],
        "parity": ["parity", "--arch", "mlp"],
        "evaluate": ["evaluate", "--model", "model.pt", "--arch", "mlp", "--framework", "torch", "--data", "digits"],
        "zoo": ["zoo", "--archs", "mlp", "--frameworks", "torch", "--epochs", "1"],
        "bench": ["bench", "--models", "mlp", "--repeats", "1", "--epochs", "1"],
        "curve": ["curve", "--arch", "mlp", "--data", "digits", "--train-sizes", "20", "--frameworks", "torch",
                  "--epochs", "1", "--limit-batches", "1"]}
ZERO, NEGATIVE, NAN, INF, NEG_INF, HUGE, HUGER, FRACTION, WORD, EMPTY = (
    "0", "-1", "nan", "inf", "-inf", "1e400", str(2**64), "1.5", "abc", "")
NUMBERS = (ZERO, NEGATIVE, NAN, INF, NEG_INF, HUGE, HUGER, FRACTION, WORD, EMPTY)
# the values each numeric type takes among NUMBERS; every other one must be refused
# (a huge float is a valid --timeout or --grad-clip; a huge --lr diverges: test_hardening.py)
ACCEPTS = {cli.positive_int: set(), cli.positive_float: {FRACTION, HUGER}, cli.seed: {ZERO},
           cli.non_negative_float: {ZERO, FRACTION, HUGER}, cli.shape: set(), cli.non_negative_int: {ZERO},
           curve.train_sizes: set(), curve.seeds: {ZERO},  # comma lists; one value here
           # a registry name: letters, digits, `_.-`, not starting with a sign
           cli.registered_model_name: {ZERO, NAN, INF, HUGE, HUGER, FRACTION, WORD}}
# options whose value is a free string, checked when the command runs: what kind of value it is
NAMES = {  # a name from a fixed list: an unknown one is refused with the valid names
    "framework", "arch", "data", "optimizer", "lr_schedule", "strategy", "preset", "select_best", "archs",
    "family", "frameworks", "objective", "sampler", "pruner", "task", "models", "resume", "run", "epochs",
    "accelerator", "precision", "augment", "optimizers", "search"}
FREE = {  # any text is valid: a file or folder to write, a new name, a storage URL
    "data_dir", "experiment", "metrics_out", "study", "storage", "out", "json", "model",
    "init_weights", "workers"}  # a file to read (checked before the run), worker addresses (checked in the plan)


def subparser(command: str) -> argparse.ArgumentParser:
    parser, _ = cli.build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]


def options(command: str) -> list[argparse.Action]:
    """The user-facing options of a command (hidden ones, help=SUPPRESS, are the lab's own)."""
    return [a for a in subparser(command)._actions
            if a.option_strings and a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)]


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def parse_refused(argv: list[str], capsys) -> str:
    """`argv` parsed in this process must exit 2 with one line; return it."""
    with pytest.raises(SystemExit) as stop:
        cli.build_parser()[0].parse_args(argv)
    assert stop.value.code == 2, argv
    return one_line(capsys.readouterr().err)


def cases() -> list[tuple[str, str, str]]:
    """(command, option, value) for every typed option and every value it must refuse."""
    found = []
    for command in COMMANDS:
        for action in options(command):
            flag = action.option_strings[-1]
            if action.nargs == 0:  # a switch: given a value
                found.append((command, flag, "=x"))
            elif action.type in ACCEPTS:
                found += [(command, flag, v) for v in NUMBERS if v not in ACCEPTS[action.type]]
            elif action.type is cli.key_value:
                found += [(command, flag, v) for v in ("novalue", "=1", EMPTY)]
            else:  # a name or a path: never empty
                found.append((command, flag, EMPTY))
    return found


def test_every_option_is_typed_or_classified():
    """A new option needs a type with a range (cli.py) or a place in NAMES / FREE here."""
    loose = sorted({f"{c} {a.option_strings[-1]}" for c in COMMANDS for a in options(c)
                    if a.nargs != 0 and a.type not in ACCEPTS and a.type is not cli.key_value
                    and a.dest not in NAMES | FREE})
    assert not loose, f"give these options a checked type or classify them here: {loose}"


PARSE_CASES = cases()


@pytest.mark.parametrize("command,flag,value", PARSE_CASES,
                         ids=[f"{c} {f} {v!r}" for c, f, v in PARSE_CASES])
def test_a_bad_typed_value_is_refused_at_parse_time_in_one_line(capsys, command, flag, value):
    argv = [*BASE[command], f"{flag}{value}"] if value == "=x" else [*BASE[command], flag, value]
    line = parse_refused(argv, capsys)
    assert flag.lstrip("-") in line or "argument" in line or "unrecognized" in line, line


def name_cases() -> list[tuple[str, str]]:
    return [(command, action.option_strings[-1]) for command in COMMANDS for action in options(command)
            if action.dest in NAMES]


def run_in_process(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().err


@pytest.mark.no_store
@pytest.mark.parametrize("command,flag", name_cases(), ids=[f"{c} {f}" for c, f in name_cases()])
def test_an_unknown_name_is_refused_in_one_line_before_anything_runs(capsys, command, flag):
    base = BASE[command]
    if flag in base:  # replace the base's own value
        base = base[:base.index(flag)] + base[base.index(flag) + 2:]
    for value in ("no-such-name", NAN):
        code, err = run_in_process([*base, flag, value], capsys)
        assert code == 2, (flag, value, err)
        one_line(err)
    if Path("mlruns/mlflow.db").exists():  # (opening a store that is not there would create it: seconds)
        assert not [r for r in mlflow_runs() if r.info.status == "RUNNING"]


def test_unknown_options_and_commands_are_one_line(capsys):
    for command in COMMANDS:
        assert "unrecognized arguments: --no-such-option" in parse_refused(
            [*BASE[command], "--no-such-option", "1"], capsys)
    assert "invalid choice" in parse_refused(["no-such-command"], capsys)


def test_the_fuzz_covers_every_command_with_many_cases():
    assert {c for c, _, _ in PARSE_CASES} == set(COMMANDS)
    assert len(PARSE_CASES) + 2 * len(name_cases()) > 300


# --- values that parse and fail later: end to end, in a subprocess -----------------------------
@pytest.mark.integration
@pytest.mark.parametrize("argv,message", [
    (["train", "--arch", "mlp", "--data", "digits", "--set", "width=-5"], "width"),
    (["train", "--arch", "mlp", "--data", "digits", "--set", "dropout=nan"], "dropout"),
    (["train", "--arch", "mlp", "--data", "digits", "--set", "nosuch=1"], "nosuch"),
    (["train", "--arch", "mlp", "--data", "mnist1d", "--data-option", "nosuch=1"], "nosuch"),
    (["tune", "--study", "s", "--data", "digits", "--epochs", "5-2"], "--epochs"),
    (["parity", "--arch", "lenet5", "--input-shape", "1,2,2"], "--input-shape"),
], ids=["width -5", "dropout nan", "unknown hparam", "unknown data option", "epochs 5-2", "image too small"])
def test_values_that_parse_but_are_wrong_are_one_line_end_to_end(lab_dir, argv, message):
    result = run_cli(*argv, "--quiet" if argv[0] in ("train", "tune") else "--json", cwd=lab_dir)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in one_line(result.stderr)
    assert not [r for r in mlflow_runs() if r.info.status == "RUNNING"]
