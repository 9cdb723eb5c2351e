"""Networks written from scratch in NumPy: explicit forward and backward passes.

No framework and no autograd: every gradient here is derived by hand, so a
learner can read how backpropagation works and check it against torch's
autograd and TensorFlow's GradientTape (see tests/test_fundamentals.py).
Builders keep the registry's names and keyword arguments, like `modules/torch/`
and `modules/keras/`, but only the architectures below have a NumPy twin.
"""
from modules.errors import UserError

ARCHITECTURES = ("mlp",)  # registry names with a NumPy implementation

# Plain gradient descent needs a larger step than Adam's 1e-3 (params.yaml's default);
# `nnlab train --framework numpy` starts from these, the command line overrides them.
TRAIN_DEFAULTS = {"optimizer": "sgd", "lr": 0.05}
OPTIMIZERS = ("sgd",)


def check_architecture(name: str) -> str:
    """Return `name` if it has a NumPy implementation, else raise naming the ones that do."""
    if name not in ARCHITECTURES:
        raise UserError(f"{name} has no NumPy implementation; --framework numpy supports: "
                        f"{', '.join(ARCHITECTURES)}")
    return name


def check_training(arch: str, optimizer: str) -> None:
    """Raise UserError unless `arch` has a NumPy twin and `optimizer` is one the NumPy runner has."""
    check_architecture(arch)
    if optimizer not in OPTIMIZERS:
        raise UserError(f"the numpy framework trains with {', '.join(OPTIMIZERS)} only; "
                        f"pass --optimizer {OPTIMIZERS[0]} (got {optimizer})")
