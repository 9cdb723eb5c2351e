"""Recurrent sequence classifiers: Elman, Jordan, LSTM, GRU and their bidirectional twins.

Both twins read `RECURRENT_VARIANTS`: the cell each architecture runs and whether it reads
the sequence in both directions. Every network is the same shape: `num_layers` stacked
recurrent layers of `hidden_size` units (dropout between them), then the last hidden state
(both directions concatenated for the bidirectional ones) -> a dense layer -> logits (or, on
a forecasting set, the next value).

The plain tanh cells (Elman, Jordan) start from `PLAIN_CELL_INIT` in both twins: torch's
default uniform(+-1/sqrt(H)) recurrent matrix has a spectral radius near 0.58, so the gradient
reaching the first of mnist1d's 40 steps is ~1e-10 of the last step's (Jordan, through two such
matrices per step, ~1e-20) and the networks never leave chance; an orthogonal recurrent matrix
keeps it within ~1e-3 (Saxe et al. 2014, https://arxiv.org/abs/1312.6120; Keras's own
SimpleRNN default). Figures: docs/benchmarks.md, "Elman and Jordan".
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from modules.errors import UserError
from modules.registry import Architecture, Param, register


@dataclass(frozen=True)
class RecurrentVariant:
    """One registered recurrent network: its cell, its reading direction(s) and its paper."""

    cell: str  # "rnn" (Elman: the hidden state is fed back), "jordan" (the output is), "lstm", "gru"
    bidirectional: bool
    paper: str


_SCHUSTER = "Schuster & Paliwal 1997, https://doi.org/10.1109/78.650093"
RECURRENT_VARIANTS = {
    "elman": RecurrentVariant(cell="rnn", bidirectional=False,
                              paper="Elman 1990, https://doi.org/10.1207/s15516709cog1402_1"),
    "jordan": RecurrentVariant(cell="jordan", bidirectional=False,
                               paper="Jordan 1986, Serial order: a parallel distributed processing "
                                     "approach, ICS Report 8604, "
                                     "https://doi.org/10.1016/S0166-4115(97)80111-2"),
    "lstm": RecurrentVariant(cell="lstm", bidirectional=False,
                             paper="Hochreiter & Schmidhuber 1997, "
                                   "https://doi.org/10.1162/neco.1997.9.8.1735"),
    "gru": RecurrentVariant(cell="gru", bidirectional=False,
                            paper="Cho et al. 2014, https://arxiv.org/abs/1406.1078"),
    "birnn": RecurrentVariant(cell="rnn", bidirectional=True, paper=_SCHUSTER),
    "bilstm": RecurrentVariant(cell="lstm", bidirectional=True,
                               paper=f"{_SCHUSTER} (cell: Hochreiter & Schmidhuber 1997)"),
    "bigru": RecurrentVariant(cell="gru", bidirectional=True, paper=f"{_SCHUSTER} (cell: Cho et al. 2014)"),
}

# The initialisers of the plain tanh cells ("rnn", "jordan"), by their Keras names; torch's twin
# maps each name onto torch.nn.init (`modules/recurrent/torch_net.py`), so both start alike.
PLAIN_CELL_INIT = {"input": "glorot_uniform", "recurrent": "orthogonal", "bias": "zeros"}
PLAIN_CELLS = ("rnn", "jordan")

# Gated cells, measured on mnist1d with torch (the lab's builders in a plain loop, 1 thread): a
# 64-unit GRU at lr 0.005, batch 32 passes 0.89 test accuracy at epoch 6 and 0.95 by epoch 10 (an
# LSTM 0.86 at 13); 15 epochs leave a margin for the Keras twin's different initialisation.
# The plain tanh cells learn mnist1d from `PLAIN_CELL_INIT` with the global gradient norm clipped
# to 1 (Pascanu et al. 2013, https://arxiv.org/abs/1211.5063) and a cosine-decayed rate; Jordan's
# deeper transition (two tanh layers per step) learns more slowly: 60 epochs at half the rate. Learning
# curves and gradient norms over time steps: docs/benchmarks.md, "Elman and Jordan".
TRAIN_DEFAULTS = {
    "rnn": {"epochs": 40, "lr": 0.002, "batch_size": 32, "grad_clip": 1.0, "lr_schedule": "cosine"},
    "jordan": {"epochs": 80, "lr": 0.0005, "batch_size": 32, "grad_clip": 1.0, "lr_schedule": "cosine"},
    "lstm": {"epochs": 15, "lr": 0.005, "batch_size": 32},
    "gru": {"epochs": 15, "lr": 0.005, "batch_size": 32},
}
# Per-cell hyperparameters beside the shared ones: an Elman net needs 128 units to pass 0.75 on
# mnist1d; a Jordan net's context units decay by `context_decay` each step (Jordan 1986's state
# units with self-connections: context_t = decay * context_{t-1} + y_t; 0 is Jordan's plain form).
CELL_DEFAULTS = {"rnn": {"hidden_size": 128}, "jordan": {"context_decay": 0.0}}
CELL_SPACE = {"jordan": {"context_decay": Param("float", 0.0, 0.9, bounds=(0.0, 0.999))}}
# Jordan's output feedback is the point of a sequence-prediction task: it defaults to a forecast.
CELL_DEFAULT_DATA = {"jordan": "sunspots"}


def sequence_shape(input_shape: tuple) -> tuple[int, int]:
    """(steps, features) of a sequence input: (T,) is read as T steps of one feature."""
    shape = tuple(input_shape)
    if len(shape) == 1:
        shape = (shape[0], 1)
    if len(shape) != 2:
        raise UserError(f"recurrent networks take sequences shaped (T,) or (T, F), got {shape}: "
                        "pick sequence data such as mnist1d")
    if shape[0] <= 0 or shape[1] <= 0:
        raise UserError(f"a sequence needs at least one step of at least one feature, got shape {shape}: "
                        "pass --input-shape T or T,F with positive sizes")
    return shape


def recurrent_builder(variant: str, create: Callable) -> Callable:
    """The public builder of registered network `variant`, the same in both twins:
    `create(input_shape, num_classes, variant=variant, **hparams)`, documented by its paper;
    its signature names exactly the variant's hyperparameters (the cell's own ones too)."""
    names = dict.fromkeys(["hidden_size", "num_layers", "dropout",
                           *CELL_DEFAULTS.get(RECURRENT_VARIANTS[variant].cell, {})])
    signature = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in ("input_shape", "num_classes")]
        + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names])

    def build(input_shape: tuple, num_classes: int, **hparams):
        signature.bind(input_shape, num_classes, **hparams)  # TypeError on a missing or unknown name
        return create(input_shape, num_classes, variant=variant, **hparams)

    build.__name__ = build.__qualname__ = variant
    build.__doc__ = f"{variant}: {RECURRENT_VARIANTS[variant].paper}"
    build.__signature__ = signature
    return build


for _name, _variant in RECURRENT_VARIANTS.items():
    register(Architecture(name=_name, task="classify", family="recurrent", module="recurrent",
                          default_data=CELL_DEFAULT_DATA.get(_variant.cell, "mnist1d"),
        defaults={"hidden_size": 64, "num_layers": 1, "dropout": 0.0, **CELL_DEFAULTS.get(_variant.cell, {})},
        space={
            "hidden_size": Param("int", 16, 256, log=True, bounds=(1, 1 << 16)),
            "num_layers": Param("int", 1, 3, bounds=(1, 100)),
            "dropout": Param("float", 0.0, 0.5, bounds=(0.0, 0.99)),
            **CELL_SPACE.get(_variant.cell, {}),
        },
        train_defaults=dict(TRAIN_DEFAULTS[_variant.cell]),
        paper=_variant.paper,
    ))
