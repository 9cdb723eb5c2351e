"""The mnist1d paper's four networks (Greydanus 2020, "Scaling down deep learning",
https://arxiv.org/abs/2011.14439), as its repository writes them
(https://github.com/greydanus/mnist1d, notebooks/models.py), and its training settings
(notebooks/train.py `get_model_args`: Adam 1e-2, batch 100, 8,000 steps, seed 42).

8,000 steps of 100 samples over the 4,000 training sequences are 200 epochs; the paper trains on
all 4,000 (`val_size=0`: the validation split is then the test split, watched as the paper
watches it, never used to choose). Published test accuracies: logistic 32%, MLP 68%, CNN 94%,
GRU 91%; with the positions shuffled (`--data-option shuffle_positions=true`) the CNN and the
GRU fall to 56-57%.
"""
from modules.registry import Architecture, register

PAPER = "Greydanus 2020, Scaling down deep learning, https://arxiv.org/abs/2011.14439"
# notebooks/train.py get_model_args(): 8,000 steps x batch 100 / 4,000 sequences = 200 epochs
TRAIN_SETTINGS = {"epochs": 200, "batch_size": 100, "lr": 1e-2, "optimizer": "adam", "seed": 42,
                  "data_options": {"val_size": 0}}
# the paper's test accuracies (its Table 1 and the repository's README), and with the positions
# shuffled (its control: the linear model and the MLP do not see the order, the CNN and GRU fall)
SHUFFLED = "shuffle_positions=True"
PUBLISHED = {"mnist1d_linear": {"": 0.32, SHUFFLED: 0.32}, "mnist1d_mlp": {"": 0.68, SHUFFLED: 0.68},
             "mnist1d_cnn": {"": 0.94, SHUFFLED: 0.56}, "mnist1d_gru": {"": 0.91, SHUFFLED: 0.57}}

# ConvBase's three Conv1d layers: kernels 5, 3, 3; stride 2; padding 1
CONV_KERNELS, CONV_STRIDE, CONV_PADDING = (5, 3, 3), 2, 1


def paper_network(name: str, builder: str, defaults: dict) -> Architecture:
    """One of the paper's networks on mnist1d, trained with the paper's settings by default."""
    return register(Architecture(name=name, task="classify", family="mnist1d_paper", module="mnist1d_paper",
                                 default_data="mnist1d", defaults=defaults, builder=builder,
                                 train_defaults=dict(TRAIN_SETTINGS), paper=PAPER,
                                 published=PUBLISHED[name]))


paper_network("mnist1d_linear", "linear_base", {})  # LinearBase: logistic regression
paper_network("mnist1d_mlp", "mlp_base", {"hidden_size": 100})  # MLPBase: 2 ReLU layers, the second residual
paper_network("mnist1d_cnn", "conv_base", {"channels": 25})  # ConvBase: 3 Conv1d (5/2, 3/2, 3/2), linear
paper_network("mnist1d_gru", "gru_base", {"hidden_size": 6, "bidirectional": True})  # GRUBase: every step -> linear


def conv_lengths(steps: int) -> list[int]:
    """The sequence length after each of ConvBase's three convolutions (kernel, stride 2, padding 1)."""
    lengths = []
    for kernel in CONV_KERNELS:
        steps = (steps + 2 * CONV_PADDING - kernel) // CONV_STRIDE + 1
        lengths.append(steps)
    return lengths

