"""Weight transfer from PyTorch to Keras: the proof that both sides are one network.

The Keras twin of a network names each weighted layer after the PyTorch module
path it mirrors (`features.0`, `layer1.0.conv1`, ...). `transfer` walks the
torch modules that own parameters or buffers, finds the Keras layer of the same
name and sets its weights through the converter registered for that module
type (layout changes such as OIHW -> HWIO, gate reordering). `parity` builds
both sides, transfers, and compares outputs on one random batch.

Converters live one file per layer family (`dense.py`, ...), registered with
`@converter(TorchType)`; each returns the arrays in `layer.get_weights()` order,
or, for a torch module that Keras splits into several layers (a stacked
recurrent layer), `{suffix: arrays}` for the Keras layers named `<path>.<suffix>`.
Parameters that torch keeps and Keras folds into others (a redundant second
bias) are declared with `@folded_parameters(TorchType, reason=...)`, so a
difference in parameter counts is explained, and checked, rather than excused.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

import numpy as np

from modules import backend

_CONVERTERS: dict[type, Callable] = {}
_FOLDED: dict[type, tuple[Callable, str]] = {}


def converter(*torch_types: type):
    """Register `fn(module, keras_layer) -> list[np.ndarray]` for these torch module types."""
    def decorate(fn: Callable) -> Callable:
        for torch_type in torch_types:
            if torch_type in _CONVERTERS:
                raise ValueError(f"a converter for {torch_type.__name__} is registered twice")
            _CONVERTERS[torch_type] = fn
        return fn
    return decorate


def folded_parameters(*torch_types: type, reason: str):
    """Register `fn(module) -> int`: parameters of these torch types that Keras folds into others."""
    def decorate(fn: Callable) -> Callable:
        for torch_type in torch_types:
            if torch_type in _FOLDED:
                raise ValueError(f"folded parameters of {torch_type.__name__} are registered twice")
            _FOLDED[torch_type] = (fn, reason)
        return fn
    return decorate


def folded_parameter_count(torch_model) -> tuple[int, str]:
    """(parameters of `torch_model` that its Keras twin folds away, why); (0, "") when none."""
    _load_converters()
    total, reasons = 0, []
    for module in torch_model.modules():
        count, reason = next(((_FOLDED[c][0](module), _FOLDED[c][1]) for c in type(module).__mro__
                              if c in _FOLDED), (0, ""))
        total += count
        if count and reason not in reasons:
            reasons.append(reason)
    return total, "; ".join(reasons)


def _load_converters() -> None:
    backend.keras()
    package = importlib.import_module("modules.convert")
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"modules.convert.{info.name}")


def _converter_for(module) -> Callable | None:
    for cls in type(module).__mro__:
        if cls in _CONVERTERS:
            return _CONVERTERS[cls]
    return None


def numpy_of(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def keras_layers_by_name(model) -> dict:
    """Every layer of `model`, nested ones included, by name."""
    return {layer.name: layer for layer in model._flatten_layers(include_self=False, recursive=True)}


def transfer(torch_model, keras_model) -> list[str]:
    """Copy every weight of `torch_model` into `keras_model`; return the layer names done.

    Raises ValueError if a weighted torch module has no converter or no Keras
    twin, or if a weighted Keras layer is left untouched.
    """
    _load_converters()
    layers = keras_layers_by_name(keras_model)
    done = []
    for name, module in torch_model.named_modules():
        own = list(module.parameters(recurse=False)) + list(module.buffers(recurse=False))
        if not own or _converter_for(module) is None and not any(p.numel() for p in own):
            continue
        convert = _converter_for(module)
        if convert is None:
            raise ValueError(f"no converter for {type(module).__name__} ({name})")
        weights = convert(module, layers.get(name))
        # {suffix: arrays} fills several Keras layers, `<name>.<suffix>`; a list fills `<name>`
        targets = ({f"{name}.{suffix}": w for suffix, w in weights.items()} if isinstance(weights, dict)
                   else {name: weights})
        for target, arrays in targets.items():
            if target not in layers:
                raise ValueError(f"torch module {name} ({type(module).__name__}) has no Keras layer "
                                 f"named {target}")
            layer = layers[target]
            expected = [tuple(w.shape) for w in layer.get_weights()]
            got = [tuple(w.shape) for w in arrays]
            if expected != got:
                raise ValueError(f"{target}: converted shapes {got} do not fit Keras's {expected}")
            layer.set_weights(arrays)
            done.append(target)
    # the sublayers of a layer set as a whole (a Bidirectional's two directions) are done too
    covered = {sub.name for d in done for sub in layers[d]._flatten_layers(include_self=False)}
    missed = [n for n, layer in layers.items() if layer.weights and n not in done and n not in covered
              and not any(n.startswith(d + "/") for d in done)
              and not all(sub.name in done for sub in layer._flatten_layers(include_self=False)
                          if sub.weights)]  # a nested model whose weighted layers are all done
    if missed:
        raise ValueError(f"Keras layers with weights but no torch twin: {', '.join(missed)}")
    return done


def random_inputs(input_shape: tuple, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One random batch, channels-first for torch and channels-last for Keras."""
    x = np.random.default_rng(seed).standard_normal((batch, *input_shape)).astype(np.float32)
    return x, (x.transpose(0, 2, 3, 1) if x.ndim == 4 else x)


def outputs_channels_first(y: np.ndarray) -> np.ndarray:
    return y.transpose(0, 3, 1, 2) if y.ndim == 4 else y


def max_output_difference(torch_net, keras_net, input_shape: tuple, batch: int, seed: int) -> float:
    """Max |torch - keras| of two one-input, one-output networks on one random batch."""
    return output_comparison(torch_net, keras_net, input_shape, batch, seed)[0]


def output_comparison(torch_net, keras_net, input_shape: tuple, batch: int, seed: int) -> tuple[float, float]:
    """(max |torch - keras|, max |torch|) of two one-input, one-output networks on one random batch."""
    torch = backend.torch()
    x_torch, x_keras = random_inputs(tuple(input_shape), batch, seed)
    with torch.inference_mode():
        y_torch = numpy_of(torch_net(torch.from_numpy(x_torch)))
    y_keras = outputs_channels_first(np.asarray(keras_net(x_keras, training=False)))
    return float(np.max(np.abs(y_torch - y_keras))), float(np.max(np.abs(y_torch)))


def max_difference_on(torch_net, keras_net, inputs: tuple) -> float:
    """Max |torch - keras| of two networks fed the same input arrays (no layout change)."""
    return comparison_on(torch_net, keras_net, inputs)[0]


def comparison_on(torch_net, keras_net, inputs: tuple) -> tuple[float, float]:
    """(max |torch - keras|, max |torch|) of two networks fed the same input arrays (no layout change)."""
    torch = backend.torch()
    with torch.inference_mode():
        y_torch = numpy_of(torch_net(*(torch.from_numpy(x) for x in inputs)))
    y_keras = np.asarray(keras_net(inputs[0] if len(inputs) == 1 else tuple(inputs), training=False))
    return float(np.max(np.abs(y_torch - y_keras))), float(np.max(np.abs(y_torch)))


def channels_first_input_shape(keras_net) -> tuple:
    """One sample's input shape of a Keras network, as the lab describes it (C, H, W)."""
    shape = tuple(keras_net.inputs[0].shape[1:])
    return (shape[-1], *shape[:-1]) if len(shape) == 3 else shape
