"""Converter for the echo state network's reservoir (`modules/reservoir/torch_net.py`)."""
from __future__ import annotations

from modules.convert import converter, numpy_of
from modules.reservoir.torch_net import Reservoir


@converter(Reservoir)
def reservoir(module: Reservoir, layer) -> list:
    # torch keeps reservoirpy's (units, inputs) and (units, units) layout; Keras multiplies from the right
    return [numpy_of(module.input_weight).T, numpy_of(module.weight).T, numpy_of(module.bias)]
