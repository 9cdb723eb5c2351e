"""LeNet-5 (LeCun et al. 1998)."""
from modules.activations import ACTIVATIONS
from modules.registry import Architecture, Param, register

# (out_channels, kernel) of the two convolutions and widths of the two hidden
# fully connected layers, as in the paper.
LENET5_CONVS = ((6, 5), (16, 5))
LENET5_FC = (120, 84)


def lenet_geometry(input_size: int) -> tuple[int, int]:
    """(first-conv padding, side of the last feature map) for a square input.

    The paper feeds 32x32 images (28x28 digits padded by 2); smaller inputs are
    padded up to 32 the same way, larger ones are used as they are.
    """
    padding = max(0, (32 - input_size) // 2)
    side = input_size + 2 * padding
    for _, kernel in LENET5_CONVS:
        side = (side - kernel + 1) // 2  # valid convolution, then 2x2 subsampling
    return padding, side


register(Architecture(
    name="lenet5",
    task="classify",
    family="cnn",
    module="lenet",
    default_data="digits",
    defaults={"activation": "tanh", "pooling": "avg"},
    space={
        "activation": Param("categorical", choices=ACTIVATIONS),
        "pooling": Param("categorical", choices=("avg", "max")),
    },
    min_input_size=28,
    default_image_size=28,
    paper="LeCun et al. 1998, http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf",
))
