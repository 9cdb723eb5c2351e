"""LeNet-5 (LeCun et al. 1998): the registry entry and the layer plans both twins build."""
from modules.activations import ACTIVATIONS
from modules.registry import Architecture, Param, register

# (out_channels, kernel) of the two convolutions and widths of the two hidden
# fully connected layers, as in the paper.
LENET5_CONVS = ((6, 5), (16, 5))
LENET5_FC = (120, 84)
SUBSAMPLING = 2  # 2x2 subsampling, stride 2, after each convolution


def lenet_geometry(input_size: int) -> tuple[int, int]:
    """(first-conv padding, side of the last feature map) for a square input.

    The paper feeds 32x32 images (28x28 digits padded by 2); smaller inputs are
    padded up to 32 the same way, larger ones are used as they are.
    """
    padding = max(0, (32 - input_size) // 2)
    side = input_size + 2 * padding
    for _, kernel in LENET5_CONVS:
        side = (side - kernel + 1) // SUBSAMPLING  # valid convolution, then subsampling
    return padding, side


def feature_layers(input_size: int, pooling: str) -> list[tuple]:
    """The `features` stack as a layer plan (see `modules.toolkit.plans`): conv, activation,
    subsampling, twice."""
    padding, _ = lenet_geometry(input_size)
    (c1, k1), (c2, k2) = LENET5_CONVS
    pool = ("avgpool" if pooling == "avg" else "maxpool", SUBSAMPLING, SUBSAMPLING)
    return [("conv", c1, k1, 1, padding), ("activation",), pool, ("conv", c2, k2, 1, 0), ("activation",), pool]


def classifier_layers(num_classes: int) -> list[tuple]:
    """The `classifier` stack: flatten, two hidden fully connected layers, the output."""
    f1, f2 = LENET5_FC
    return [("flatten",), ("linear", f1), ("activation",), ("linear", f2), ("activation",),
            ("linear", num_classes)]


def feature_size(input_size: int) -> int:
    """Features entering the classifier for a square input."""
    _, side = lenet_geometry(input_size)
    return LENET5_CONVS[-1][0] * side * side


register(Architecture(name="lenet5", task="classify", family="cnn", module="lenet",
                          default_data="mnist_5k",
    defaults={"activation": "tanh", "pooling": "avg"},  # the paper's network
    space={
        "activation": Param("categorical", choices=ACTIVATIONS),
        "pooling": Param("categorical", choices=("avg", "max")),
    },
    min_input_size=28,
    default_image_size=28,
    paper="LeCun et al. 1998, http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf",
))
