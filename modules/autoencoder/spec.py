"""Autoencoders: a convolutional one and an MLP one, trained to reconstruct their input."""
from modules.registry import Architecture, Param, register

AUTOENCODER_KINDS = ("conv", "mlp")
RECONSTRUCTION_LOSSES = ("mse", "bce")
# channels of the stride-2 stages of the convolutional encoder, as multiples of `width`
# (the decoder mirrors them); each stage halves the image side
CONV_STAGES = (1, 2)
# hidden-layer widths of the MLP encoder, as multiples of `width` (the decoder mirrors them)
MLP_HIDDEN = (8, 2)


def conv_bottleneck_side(side: int) -> int:
    """Side of the last feature map of the convolutional encoder for a `side` x `side` image."""
    from modules.errors import UserError

    factor = 2 ** len(CONV_STAGES)
    if side % factor:
        raise UserError(f"the convolutional autoencoder needs an image side divisible by {factor}, "
                        f"got {side}: pass --image-size {max(factor, side // factor * factor)}")
    return side // factor


register(Architecture(name="autoencoder", task="reconstruct", family="autoencoder", module="autoencoder",
                          default_data="digits",
    defaults={"kind": "conv", "latent_dim": 16, "width": 32, "loss": "mse"},
    space={
        "kind": Param("categorical", choices=AUTOENCODER_KINDS),
        "latent_dim": Param("int", 2, 64, log=True, bounds=(1, 1 << 16)),
        "width": Param("int", 8, 128, log=True, bounds=(1, 1 << 14)),
        "loss": Param("categorical", choices=RECONSTRUCTION_LOSSES),
    },
    min_input_size=8,
    default_image_size=16,
    train_defaults={"epochs": 30},
    paper="Hinton & Salakhutdinov 2006, https://doi.org/10.1126/science.1127647",
))
