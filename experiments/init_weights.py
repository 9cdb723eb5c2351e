"""`--init-weights FILE`: start a run from a torchvision state-dict file, in either framework.

The file is a plain state dict (`torch.save(model.state_dict(), path)`), read with
`weights_only=True` so nothing in it is executed. The lab's ImageNet configurations carry
torchvision's module names (AlexNet, VGG with and without batch norm, ResNet, DenseNet;
GoogLeNet through `modules.googlenet.torch_net.TorchvisionNames`), so the file loads by name.
One exception is made for fine-tuning: an output layer sized for another number of classes
(ImageNet's 1,000 against a dataset's 10) keeps its fresh initialisation, and the run says so.
Keras takes the same weights through the torch twin and `modules.convert.transfer`.
"""
from __future__ import annotations

from pathlib import Path

from modules import backend
from modules.errors import UserError


def read_state_dict(path: str | Path) -> dict:
    """The tensors of a torch state-dict file; UserError in one line when it is not one."""
    torch = backend.torch()
    path = Path(path)  # its existence is checked with the run's settings (experiments.controls)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a corrupt zip, a pickle of code, not a torch file at all
        raise UserError(f"--init-weights {path} is not a readable state dict ({type(error).__name__}); "
                        "save one with torch.save(model.state_dict(), path)") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a checkpoint that wraps its state dict
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise UserError(f"--init-weights {path} holds no state dict of tensors")
    return dict(state)


def own_names(network, state: dict) -> dict:
    """`state` under `network`'s own names (GoogLeNet renames torchvision's, see `own_names` there)."""
    rename = getattr(network, "own_names", None)
    return rename(state) if rename is not None else dict(state)


def output_layer_mismatches(network, state: dict, num_classes: int) -> list[str]:
    """Keys of `state` (under the network's names) that differ from `network`'s only by the number
    of classes: output layers (first dimension `num_classes` here, another count in the file)."""
    own = network.state_dict()
    return [k for k, v in state.items()
            if k in own and tuple(v.shape) != tuple(own[k].shape) and own[k].shape[0] == num_classes
            and tuple(v.shape[1:]) == tuple(own[k].shape[1:])]


def load_into_torch(network, path: str | Path, num_classes: int, progress=print) -> None:
    """Load the state dict in `path` into `network` by name (strict), keeping fresh output layers
    sized for another number of classes; UserError naming what does not fit."""
    state = own_names(network, read_state_dict(path))
    fresh = output_layer_mismatches(network, state, num_classes)
    if fresh:
        own = network.state_dict()
        state.update({k: own[k] for k in fresh})
        progress(f"--init-weights: {', '.join(fresh)} sized for another number of classes; "
                 f"kept freshly initialised for {num_classes} classes")
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as error:
        detail = " ".join(line.strip() for line in str(error).strip().splitlines()[:3])[:300]
        raise UserError(f"--init-weights {path} does not fit this network ({detail}); build the network "
                        "the file was saved from (e.g. --preset paper or torchvision, --image-size 224)") from None


def load_into_keras(arch, keras_network, input_shape: tuple, num_classes: int, hparams: dict,
                    path: str | Path, progress=print) -> None:
    """Load the state dict in `path` into the torch twin of `keras_network`, then transfer it."""
    from modules.convert import transfer

    torch_network = arch.build("torch", input_shape, num_classes, **hparams)
    load_into_torch(torch_network, path, num_classes, progress)
    transfer(torch_network.eval(), keras_network)
