"""Building blocks of the NumPy networks, each with an explicit forward and backward pass.

Conventions (the same in every class here):
- a batch is a 2-D array `(B, features)`; `B` is the batch size;
- `forward(x)` returns the output and keeps what `backward` will need;
- `backward(grad_out)` takes dLoss/dOutput, the same shape as the output, stores
  dLoss/dParameter for each parameter in `self.grads`, and returns dLoss/dInput;
- parameters live in `self.params`, a dict name -> array, updated in place by an optimizer.

Dense weights are stored as torch stores them, `(out_features, in_features)`, so a
NumPy network and a torch network can swap state dicts key for key.
"""
from __future__ import annotations

import math

import numpy as np

from modules.activations import LEAKY_RELU_SLOPE, check_activation

ELU_ALPHA = 1.0  # torch's and Keras's default


# --- activations: f(z) and f'(z), element-wise ---------------------------------------------

def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of a large positive number overflows; split by sign so each branch is stable
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _erf(z: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # scipy comes with scikit-learn

    return erf(z)


def _std_normal_pdf(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def activation_and_derivative(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(z), f'(z)) for activation `name` (see `modules.activations`), element-wise."""
    check_activation(name)
    if name == "sigmoid":
        s = _sigmoid(z)
        return s, s * (1 - s)
    if name == "tanh":
        t = np.tanh(z)
        return t, 1 - t * t
    if name == "relu":
        return np.maximum(z, 0), (z > 0).astype(z.dtype)  # f'(0) taken as 0, as torch does
    if name == "leaky_relu":
        return np.where(z > 0, z, LEAKY_RELU_SLOPE * z), np.where(z > 0, 1.0, LEAKY_RELU_SLOPE).astype(z.dtype)
    if name == "gelu":  # exact form: z * Phi(z), Phi the standard normal CDF
        cdf = 0.5 * (1 + _erf(z / math.sqrt(2)))
        return z * cdf, cdf + z * _std_normal_pdf(z)
    if name == "elu":
        neg = ELU_ALPHA * np.expm1(np.minimum(z, 0))  # alpha * (e^z - 1) for z <= 0
        return np.where(z > 0, z, neg), np.where(z > 0, 1.0, neg + ELU_ALPHA).astype(z.dtype)
    if name == "silu":  # z * sigmoid(z)
        s = _sigmoid(z)
        return z * s, s * (1 + z * (1 - s))
    return z, np.ones_like(z)  # linear


class Activation:
    """y = f(z) element-wise; backward multiplies by f'(z) (the chain rule, one factor)."""

    def __init__(self, name: str) -> None:
        self.name = check_activation(name)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        y, self.slope = activation_and_derivative(self.name, z)  # both (B, F)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self.slope  # (B, F): dL/dz = dL/dy * f'(z)


class Dense:
    """y = x W^T + b, with W (out, in) and b (out,) as in torch's nn.Linear."""

    def __init__(self, in_features: int, out_features: int, rng: np.random.Generator,
                 dtype=np.float32, init: str = "default") -> None:
        if init == "default":  # torch's: U(-1/sqrt(in), 1/sqrt(in)) for weights and biases
            bound = bias_bound = 1 / math.sqrt(in_features)
        elif init == "xavier":  # Glorot & Bengio 2010: keeps the variance of signals and gradients
            bound, bias_bound = math.sqrt(6 / (in_features + out_features)), 0.0
        else:  # "he", He et al. 2015: relu zeroes half the units, so twice Glorot's fan-in variance
            bound, bias_bound = math.sqrt(6 / in_features), 0.0
        self.params = {"weight": rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype),
                       "bias": rng.uniform(-bias_bound, bias_bound, out_features).astype(dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x  # (B, in): needed for dL/dW
        return x @ self.params["weight"].T + self.params["bias"]  # (B, out)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        # grad_out: (B, out). Each weight W[o, i] touches every sample's output o via x[:, i]:
        self.grads["weight"] = grad_out.T @ self.x  # (out, B) @ (B, in) -> (out, in)
        self.grads["bias"] = grad_out.sum(axis=0)  # (out,): b is added to every sample
        return grad_out @ self.params["weight"]  # (B, out) @ (out, in) -> (B, in) = dL/dx


class Dropout:
    """Inverted dropout: zero a fraction `rate` of units in training, scale the rest by 1/(1-rate)."""

    def __init__(self, rate: float, rng: np.random.Generator) -> None:
        self.rate, self.rng = rate, rng
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = 1 - self.rate
        self.mask = (self.rng.random(x.shape) < keep).astype(x.dtype) / keep  # (B, F)
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out if self.mask is None else grad_out * self.mask


class Flatten:
    """(B, C, H, W) or (B, T) -> (B, features), in torch's (C, H, W) order."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(self.shape)


# --- the loss ----------------------------------------------------------------------------

def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(`logits`) against integer labels `y`, and dLoss/dlogits.

    logits: (B, K); y: (B,). With p = softmax(logits) the gradient is the famous
    (p - onehot(y)) / B: softmax and the log cancel into a simple difference.
    """
    shifted = logits - logits.max(axis=1, keepdims=True)  # (B, K), same softmax, no overflow
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (B, K) log-probabilities
    batch = np.arange(len(y))
    loss = -log_p[batch, y].mean()
    grad = np.exp(log_p)  # (B, K) = p
    grad[batch, y] -= 1  # p - onehot(y)
    return float(loss), grad / len(y)


def count_parameters(network) -> int:
    """Number of parameters (weights and biases) of a NumPy network."""
    return int(sum(p.size for p in network.parameters().values()))
