"""Feedforward networks: the multilayer perceptron.

The hidden layers are `depth` layers of `width` units, or, when `widths` is set, one layer per
entry of `widths` (input side first), written "256-128-100": one string that the command line
(`--set widths=256-128-100`), params.yaml, an MLflow param and an Optuna choice all carry as it
is. `widths` then overrides `depth` and `width`. The layers keep their names (`hidden.{i}.linear`)
either way, so weight transfer and parity read the same network.

The preset `zalando` is the MLP of Zalando's Fashion-MNIST benchmark table (test accuracy 0.8833,
https://github.com/zalandoresearch/fashion-mnist#benchmark; the network:
https://github.com/heitorrapela/fashion-mnist-mlp): 784-256-128-100-10, tanh, dropout 0.4 after
every hidden layer. Where the lab differs: He *uniform* weights (the original draws He normal,
with the same variance), and a softmax output trained with cross-entropy (the original puts a
sigmoid on its outputs before Keras's categorical cross-entropy).
"""
from __future__ import annotations

from modules.activations import ACTIVATIONS
from modules.errors import UserError
from modules.registry import Architecture, Param, register

# How dense weights start. "default": each framework's own (torch: U(+-1/sqrt(fan_in)) for weights
# and biases; Keras: Glorot uniform, zero biases). "xavier" (Glorot & Bengio 2010) and "he"
# (He et al. 2015, for relu): the same uniform distributions in both frameworks, zero biases.
INITS = ("default", "xavier", "he")
DEPTH_BOUNDS = (1, 1000)  # hidden layers
WIDTH_BOUNDS = (1, 1 << 20)  # units of one hidden layer
WIDTHS_SEPARATOR = "-"  # "256-128-100"; a comma (the form `--set` gives other lists) is read too
ZALANDO_WIDTHS = "256-128-100"


def parse_widths(widths: str | int | tuple | list) -> tuple[int, ...]:
    """The hidden-layer widths `widths` names ("256-128-100", "256,128,100", a sequence or one
    int); UserError naming the fix unless they are 1 to 1000 whole numbers in WIDTH_BOUNDS."""
    example = f"e.g. widths={ZALANDO_WIDTHS} (or widths=none: depth layers of width units)"
    if isinstance(widths, int) and not isinstance(widths, bool):
        parts = [str(widths)]
    elif isinstance(widths, str):
        parts = [p.strip() for p in widths.strip("()[] ").replace(",", WIDTHS_SEPARATOR).split(WIDTHS_SEPARATOR)]
    elif isinstance(widths, (tuple, list)):
        parts = [str(w).strip() for w in widths]
    else:
        raise UserError(f"widths={widths!r} is not valid: give layer widths joined by "
                        f"'{WIDTHS_SEPARATOR}', {example}")
    if not parts or parts == [""]:
        raise UserError(f"widths is empty: give one width per hidden layer, {example}")
    if not all(p.isascii() and p.isdigit() for p in parts):  # "1.5", "abc", "-1", "256--100"
        raise UserError(f"widths={widths!r} is not valid: give whole numbers joined by "
                        f"'{WIDTHS_SEPARATOR}', {example}")
    sizes = tuple(int(p) for p in parts)
    low, high = WIDTH_BOUNDS
    if not all(low <= w <= high for w in sizes):
        raise UserError(f"widths={widths!r}: every width must be in [{low}, {high}], {example}")
    if len(sizes) > DEPTH_BOUNDS[1]:
        raise UserError(f"widths={widths!r} has {len(sizes)} layers; the most is {DEPTH_BOUNDS[1]}")
    return sizes


def hidden_widths(depth: int, width: int, widths: str | tuple | None) -> tuple[int, ...]:
    """The width of every hidden layer: `widths` when it is set, else `depth` layers of `width`."""
    return parse_widths(widths) if widths is not None else (width,) * depth


def check_widths(hparams: dict) -> dict:
    """`hparams` with `widths` checked and written one way ("256-128-100", or None for depth x
    width; "none" on the command line clears a preset's), so a logged param reads back as built."""
    if hparams["widths"] is None or str(hparams["widths"]).strip().lower() == "none":
        return {**hparams, "widths": None}
    return {**hparams, "widths": WIDTHS_SEPARATOR.join(map(str, parse_widths(hparams["widths"])))}


register(Architecture(name="mlp", task="classify", family="feedforward", module="feedforward",
                          default_data="mnist1d",
    defaults={"depth": 3, "width": 256, "widths": None, "activation": "relu", "dropout": 0.2,
              "init": "default"},
    space={
        "depth": Param("int", 1, 8, bounds=DEPTH_BOUNDS),
        "width": Param("int", 16, 1024, log=True, bounds=WIDTH_BOUNDS),
        "activation": Param("categorical", choices=ACTIVATIONS),
        "dropout": Param("float", 0.0, 0.7, bounds=(0.0, 0.99)),
        "init": Param("categorical", choices=INITS),
    },
    presets={"zalando": {"widths": ZALANDO_WIDTHS, "activation": "tanh", "dropout": 0.4, "init": "he"}},
    check_hparams=check_widths,
    paper="Rumelhart, Hinton & Williams 1986, https://doi.org/10.1038/323533a0",
))
