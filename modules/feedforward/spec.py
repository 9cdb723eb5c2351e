"""Feedforward networks: the multilayer perceptron."""
from modules.activations import ACTIVATIONS
from modules.registry import Architecture, Param, register

# How dense weights start. "default": each framework's own (torch: U(+-1/sqrt(fan_in)) for weights
# and biases; Keras: Glorot uniform, zero biases). "xavier" (Glorot & Bengio 2010) and "he"
# (He et al. 2015, for relu): the same uniform distributions in both frameworks, zero biases.
INITS = ("default", "xavier", "he")

register(Architecture(name="mlp", task="classify", family="feedforward", module="feedforward",
                          default_data="mnist1d",
    defaults={"depth": 3, "width": 256, "activation": "relu", "dropout": 0.2, "init": "default"},
    space={
        "depth": Param("int", 1, 8, bounds=(1, 1000)),
        "width": Param("int", 16, 1024, log=True, bounds=(1, 1 << 20)),
        "activation": Param("categorical", choices=ACTIVATIONS),
        "dropout": Param("float", 0.0, 0.7, bounds=(0.0, 0.99)),
        "init": Param("categorical", choices=INITS),
    },
    paper="Rumelhart, Hinton & Williams 1986, https://doi.org/10.1038/323533a0",
))
