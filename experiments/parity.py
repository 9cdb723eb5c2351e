"""Parity: build one architecture in both frameworks, transfer the torch weights to Keras
(`modules/convert`), and compare parameter counts and outputs. Here, not in `modules/`, because
the default input shape is the architecture's default dataset's (`datamodules`)."""
from __future__ import annotations

import datamodules
from modules import backend, convert, registry
from modules.errors import UserError

# Two networks are one when max|torch - keras| <= PARITY_RTOL * max|torch| + PARITY_ATOL: float32
# rounding grows with depth and with the outputs' magnitude (ResNet-50's logits at 224x224 differ
# by about 2e-4 in absolute terms, a few 1e-6 of their scale), as numpy.allclose's rule.
PARITY_RTOL = 1e-4
PARITY_ATOL = 1e-4


def parity_tolerance(output_scale: float) -> float:
    """The largest max|torch - keras| that still proves one network, for outputs of `output_scale`."""
    return PARITY_RTOL * output_scale + PARITY_ATOL


def parity(arch_name: str, input_shape: tuple | None = None, num_classes: int | None = None,
           batch: int = 4, seed: int = 0, **hparams) -> dict:
    """Build `arch_name` in both frameworks, transfer the weights, compare outputs.

    Returns `arch`, `input_shape`, `num_classes`, `n_params_torch`, `n_params_keras`,
    `param_difference` (and its `param_difference_reason`), `max_abs_diff`, `output_scale`
    (max |torch output|), `tolerance` (`parity_tolerance`), `same_network`, `layers_transferred`.
    """
    arch = registry.get(arch_name)
    info = datamodules.get_info(arch.default_data)
    if input_shape is None:
        input_shape = info.shape
        if info.kind == "image" and arch.default_image_size:
            input_shape = (info.shape[0], arch.default_image_size, arch.default_image_size)
    num_classes = num_classes or info.num_classes
    side = input_shape[-1] if len(input_shape) == 3 else None
    if arch.min_input_size and side is not None and side < arch.min_input_size:
        raise UserError(f"{arch_name} needs inputs of at least {arch.min_input_size}x{arch.min_input_size}, "
                        f"got {side}x{side}: pass --input-shape C,{arch.min_input_size},{arch.min_input_size}")
    torch = backend.torch()
    torch.manual_seed(seed)
    torch_model = arch.build("torch", input_shape, num_classes, **hparams).eval()
    keras_model = arch.build("keras", input_shape, num_classes, **hparams)
    done = convert.transfer(torch_model, keras_model)
    # a network made of several one-input parts (a GAN's generator and discriminator) names
    # them in `parity_parts`; each part is compared on a random batch of its own input
    parts = getattr(torch_model, "parity_parts", ())
    compared = {part: convert.output_comparison(getattr(torch_model, part), keras_model.get_layer(part),
                                                convert.channels_first_input_shape(keras_model.get_layer(part)),
                                                batch, seed) for part in parts}
    if not parts and arch.parity_inputs is not None:  # token ids, or several inputs
        inputs = arch.parity_inputs(tuple(input_shape), num_classes, batch, seed)
        compared[arch_name] = convert.comparison_on(torch_model, keras_model, inputs)
    elif not parts:
        compared[arch_name] = convert.output_comparison(torch_model, keras_model, input_shape, batch, seed)
    diffs = {part: diff for part, (diff, _) in compared.items()}
    same = all(diff <= parity_tolerance(scale) for diff, scale in compared.values())
    worst = max(compared.values(), key=lambda c: c[0] - parity_tolerance(c[1]))
    from modules.toolkit.keras_layers import count_parameters as count_keras
    from modules.toolkit.torch_layers import count_parameters as count_torch

    n_torch, n_keras = count_torch(torch_model), count_keras(keras_model)
    folded, why = convert.folded_parameter_count(torch_model)
    if n_torch - n_keras == 0:
        reason = ""
    elif n_torch - n_keras == folded:
        reason = why
    else:
        reason = f"UNEXPLAINED (expected {folded:,}: {why or 'none folded'})"
    return {"arch": arch_name, "input_shape": list(input_shape), "num_classes": num_classes,
            "n_params_torch": n_torch, "n_params_keras": n_keras,
            "param_difference": n_torch - n_keras, "param_difference_expected": folded,
            "param_difference_reason": reason,
            "max_abs_diff": max(diffs.values()), "output_scale": worst[1],
            "tolerance": parity_tolerance(worst[1]), "same_network": same,
            **({"max_abs_diff_parts": diffs} if parts else {}),
            "layers_transferred": len(done)}
