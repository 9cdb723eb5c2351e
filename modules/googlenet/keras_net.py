"""GoogLeNet (Keras). Mirrors `torch_net.py`; both build the plans of `spec.py`."""
from __future__ import annotations

import keras
from keras import layers

# the same spec names as torch_net.py imports (`duplicates` pairs the two lists)
from modules.googlenet.spec import (
    AUX_AFTER,
    AUX_DROPOUT,
    AUX_HIDDEN,
    AUX_LOSS_WEIGHT,
    AUX_POOL,
    INCEPTIONS,
    MAX_POOL,
    aux_conv_layers,
    branch_layers,
    check_googlenet_input,
    is_pool,
    stem_layers,
)
from modules.toolkit.keras_layers import channels_last_shape, torch_dense
from modules.toolkit.keras_plans import apply_plan
from modules.toolkit.plans import scaled


@keras.saving.register_keras_serializable(package="nnlab")
class AuxiliaryOutputsModel(keras.Model):
    """A functional network whose outputs are (main, *auxiliary) logits: all of them in
    training, the main logits alone otherwise (evaluation, prediction, parity)."""

    def __init__(self, *args, aux_loss_weight: float = AUX_LOSS_WEIGHT, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.aux_loss_weight = aux_loss_weight

    def call(self, inputs, training=None, mask=None):
        outputs = super().call(inputs, training=training, mask=mask)
        return tuple(outputs) if training else outputs[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "aux_loss_weight": self.aux_loss_weight}


def inception(x, spec: tuple, width: float, batch_norm: bool, branch3_kernel: int):
    """Four branches named `<name>.branch<i>.<j>` like torch's, concatenated on channels."""
    branches = [apply_plan(x, plan, f"{spec[0]}.branch{i}")
                for i, plan in enumerate(branch_layers(spec, width, batch_norm, branch3_kernel), 1)]
    return layers.Concatenate(axis=-1, name=f"{spec[0]}.concat")(branches)


def aux_classifier(x, name: str, num_classes: int, width: float, batch_norm: bool):
    """Section 5: 5x5/3 average pooling, 1x1 conv 128, fully connected 1024, dropout 0.7, linear."""
    x = layers.AveragePooling2D(AUX_POOL[0], strides=AUX_POOL[1], name=f"{name}.pool")(x)
    x = apply_plan(x, aux_conv_layers(width, batch_norm), f"{name}.conv")  # 1x1 conv [BN] ReLU
    x = layers.Permute((3, 1, 2), name=f"{name}.permute")(x)  # flatten in torch's (C, H, W) order
    x = layers.Flatten(name=f"{name}.flatten")(x)
    x = torch_dense(scaled(AUX_HIDDEN, width), x.shape[-1], activation="relu", name=f"{name}.fc1")(x)
    x = layers.Dropout(AUX_DROPOUT, name=f"{name}.dropout")(x)
    return torch_dense(num_classes, x.shape[-1], name=f"{name}.fc2")(x)


def googlenet(input_shape: tuple, num_classes: int, *, width: float, dropout: float, aux_logits: bool, lrn: bool,
              batch_norm: bool, small_input: bool, branch3_kernel: int) -> keras.Model:
    """GoogLeNet (Szegedy et al. 2014, https://arxiv.org/abs/1409.4842)."""
    check_googlenet_input(input_shape, small_input, aux_logits)
    inputs = keras.Input(channels_last_shape(input_shape), name="input")  # (H, W, C)
    x = apply_plan(inputs, stem_layers(width, lrn, small_input, batch_norm), "stem")
    aux_outputs = []
    for spec in INCEPTIONS:
        x = apply_plan(x, [MAX_POOL], spec) if is_pool(spec) else inception(x, spec, width, batch_norm, branch3_kernel)
        if aux_logits and not is_pool(spec) and spec[0] in AUX_AFTER:
            aux_outputs.append(aux_classifier(x, f"aux{AUX_AFTER.index(spec[0]) + 1}", num_classes, width,
                                              batch_norm))
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = torch_dense(num_classes, x.shape[-1], name="fc")(x)
    if aux_outputs:
        return AuxiliaryOutputsModel(inputs, [outputs, *aux_outputs], name="googlenet")
    return keras.Model(inputs, outputs, name="googlenet")
