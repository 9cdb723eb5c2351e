"""The fundamentals lab: activations, forward and backward propagation, measured in both frameworks.

Each module here computes one lesson's numbers and figures (`activations`,
`vanishing_gradients`, `linear_collapse`); the `nnlab activations` and
`nnlab experiment ...` commands print them, write them under `--out`, and log
them to MLflow in the experiment `fundamentals`.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from modules.activations import ACTIVATIONS, check_activation
from modules.errors import UserError

DEFAULT_OUT = Path("reports/fundamentals")
EXPERIMENT = "fundamentals"  # the MLflow experiment of every fundamentals run
HIDDEN_ACTIVATIONS = tuple(a for a in ACTIVATIONS if a != "linear")  # the non-linear choices


def parse_activations(text: str | None, valid: tuple[str, ...] = ACTIVATIONS,
                      default: tuple[str, ...] = HIDDEN_ACTIVATIONS) -> tuple[str, ...]:
    """Comma-separated activation names -> a tuple; an unknown name lists the valid ones."""
    if not text:
        return default
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    for name in names:
        if valid is ACTIVATIONS:
            check_activation(name)
        elif name not in valid:
            raise UserError(f"unknown activation {name!r}; valid: {', '.join(valid)}")
    if not names:
        raise UserError(f"no activation given; valid: {', '.join(valid)}")
    return names


def parse_ints(text: str, what: str) -> tuple[int, ...]:
    """Comma-separated positive integers (e.g. depths `10,20`)."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"{what} must be comma-separated positive integers, got {text!r}") from None
    if not values or min(values) <= 0:
        raise UserError(f"{what} must be positive, got {text!r}")
    return values


@contextlib.contextmanager
def single_threaded():
    """One torch thread and one BLAS thread for the block, restored after.

    The lessons' networks are small: on a shared machine, extra threads only wait
    on each other (docs/benchmarks.md has the measured slowdown).
    """
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    from modules import backend

    torch = backend.torch()
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(previous)
