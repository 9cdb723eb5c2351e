"""Output files that readers never see half-written: a folder checked before long work, and
every write to a temporary sibling renamed over the target (`os.replace` is atomic on POSIX)."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Iterator

from modules.errors import UserError


def check_output_path(path: Path | str | None) -> None:
    """Before long work: the folder of output file `path` exists or can be made, and is
    writable; else one line naming it."""
    if path is None:
        return
    folder = Path(path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UserError(f"cannot write {path}: part of its folder is a file; pass a writable path") from None
    except OSError as err:
        raise UserError(f"cannot create the folder of {path}: {err.strerror}; pass a writable path") from None
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write into {folder}/ (for {path}): pass a writable path")


@contextlib.contextmanager
def atomic_path(path: Path | str, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed.

    `suffix` keeps a file type that a writer infers from the name (e.g. `.npz`, `.pt`)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: Path | str, data: dict) -> None:
    """Write JSON so that readers never see a half-written file."""
    path = Path(path)
    check_output_path(path)
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    except OSError as err:
        raise UserError(f"cannot write {path}: {err.strerror}; pass a writable path") from None


INFO_SUFFIX = ".info.json"  # beside a metrics file: what it describes (run id, names, digests, paths)


def info_path(metrics_path: Path | str) -> Path:
    """The file beside `metrics_path` that holds its non-numeric values: `m.json` -> `m.info.json`."""
    path = Path(metrics_path)
    return path.with_name(path.name.removesuffix(".json") + INFO_SUFFIX)


def split_numbers(data: dict) -> tuple[dict, dict]:
    """(the numbers of `data`, everything else), nested dicts split alike; booleans are not numbers."""
    numbers, rest = {}, {}
    for key, value in data.items():
        if isinstance(value, dict):
            inner_numbers, inner_rest = split_numbers(value)
            if inner_numbers:
                numbers[key] = inner_numbers
            if inner_rest:
                rest[key] = inner_rest
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers[key] = value
        else:
            rest[key] = value
    return numbers, rest


def write_metrics_json(path: Path | str, data: dict) -> None:
    """A DVC metrics file of numbers only (`dvc metrics show` and `dvc exp show` make a column of
    every key), its other values (run id, framework, digests, paths) in `info_path(path)` beside it."""
    numbers, rest = split_numbers(data)
    write_json_atomic(path, numbers)
    write_json_atomic(info_path(path), rest)
