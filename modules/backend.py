"""The one place that imports the deep-learning frameworks, in a safe order.

Importing TensorFlow (or Keras on the TensorFlow backend) before torchvision,
lightning or torchmetrics segfaults with the current wheels: triton's native
library and TensorFlow's clash (torch alone loads safely either way). Every
other module asks this one for a framework instead of importing it, so the
torch side loads first when both are used and `nnlab --help` loads none.

A torch run needs Lightning Fabric alone: `fabric()` loads the standalone `lightning_fabric`
package, without `lightning.pytorch`, torchmetrics or torchvision (the `lightning` package's
`__init__` imports all three). A process that will use Keras alone (`nnlab train --framework keras`) says so
with `keras_alone()`: `keras()` then loads no torch side; asking for Lightning or
torchvision after TensorFlow is then one clear error instead of a segfault.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
import tempfile
import warnings

_TORCH_SIDE_READY = False
_KERAS_READY = False
_KERAS_ALONE = False

# glibc returns freed arenas to the OS and faults them back in on the next
# batch; raising these thresholds removes that page-fault overhead from torch
# training (figures in docs/benchmarks.md).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
# glibc caps the mmap threshold at 32 MiB on 64-bit.
_MALLOC_SETTINGS = {_M_MMAP_THRESHOLD: 32 << 20, _M_TRIM_THRESHOLD: 1 << 30, _M_TOP_PAD: 64 << 20}


def quiet_environment() -> None:
    """Silence framework start-up chatter before any framework is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # CUDA/oneDNN notices on CPU machines
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    # OpenMP threads that spin while waiting starve everything else on a shared machine
    # (docs/benchmarks.md: the default, active policy slowed training several-fold under load).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*The number of training batches.*")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    warnings.filterwarnings("ignore", message=".*Skipping variable loading for optimizer.*")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric",
                 "lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda",
                 "absl", "tensorflow", "h5py", "alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.ERROR)


def tune_malloc() -> None:
    """Keep freed memory mapped between batches (see _MALLOC_SETTINGS)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to tune
        return
    for option, value in _MALLOC_SETTINGS.items():
        libc.mallopt(option, value)


@contextlib.contextmanager
def _native_stderr_captured():
    """Hold back what native code writes to fd 2 (TensorFlow's absl pre-init notices
    ignore TF_CPP_MIN_LOG_LEVEL); replay it if the block fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def keras_alone() -> None:
    """Declare that this process uses Keras and no Lightning or torchvision: `keras()` then skips
    loading the torch side first (a run of one framework imports only that one)."""
    global _KERAS_ALONE
    _KERAS_ALONE = True


def torch():
    """Import `torch` alone (safe before or after TensorFlow) and return it."""
    quiet_environment()
    if "torch" not in sys.modules:
        tune_malloc()
    import torch as _torch

    return _torch


@contextlib.contextmanager
def _torchmetrics_version_only():
    """While `lightning_fabric` is imported, answer its `compare_version("torchmetrics", ...)`
    (`lightning_fabric/utilities/imports.py`, used only by its SpikeDetection) from the installed
    version without importing torchmetrics, which imports torchvision and scipy.signal
    (https://github.com/Lightning-AI/pytorch-lightning/issues/19261: slow `import lightning`)."""
    if "torchmetrics" in sys.modules:
        yield
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("torchmetrics")
    except PackageNotFoundError:  # compare_version answers False itself
        yield
        return
    stand_in = type(sys)("torchmetrics")
    stand_in.__version__ = installed
    sys.modules["torchmetrics"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("torchmetrics") is stand_in:
            del sys.modules["torchmetrics"]


def fabric():
    """Return the `lightning_fabric` package (Fabric, seed_everything) with torch, and neither
    `lightning.pytorch`, torchmetrics nor torchvision; before TensorFlow (it loads triton)."""
    if "lightning_fabric" not in sys.modules:
        if "tensorflow" in sys.modules and "lightning.fabric" not in sys.modules:
            raise RuntimeError("Lightning Fabric cannot load after TensorFlow (the process would "
                               "segfault); call modules.backend.fabric() before backend.keras()")
        torch()
        with _torchmetrics_version_only():
            import lightning_fabric  # noqa: F401
    logging.getLogger("lightning_fabric").setLevel(logging.ERROR)
    import lightning_fabric as _lightning_fabric

    return _lightning_fabric


def _torch_side() -> None:
    """Import torch, Fabric, lightning (which pulls torchmetrics) and torchvision: before TensorFlow."""
    global _TORCH_SIDE_READY
    if _TORCH_SIDE_READY:
        return
    already = all(name in sys.modules for name in ("lightning.pytorch", "torchvision"))
    if "tensorflow" in sys.modules and not already:  # loaded before TensorFlow by someone else: fine
        raise RuntimeError("lightning/torchvision cannot load after TensorFlow (the process would "
                           "segfault); call modules.backend.lightning() before backend.keras()")
    fabric()
    import lightning  # noqa: F401
    import lightning.pytorch  # noqa: F401
    import torchvision  # noqa: F401  (must precede TensorFlow)
    try:
        import torchmetrics  # noqa: F401
    except ImportError:
        pass
    _TORCH_SIDE_READY = True


def lightning():
    """Return the `lightning.pytorch` package, the torch side imported in the safe order."""
    _torch_side()
    import lightning.pytorch as pl

    pl_logger = logging.getLogger("lightning.pytorch")
    pl_logger.setLevel(logging.ERROR)
    return pl


def torchvision():
    """Return `torchvision`, the torch side imported in the safe order."""
    _torch_side()
    import torchvision as _torchvision

    return _torchvision


def keras():
    """Import Keras 3 on TensorFlow, after the torch side (unless `keras_alone()`), and return `keras`."""
    global _KERAS_READY
    if not _KERAS_READY:
        quiet_environment()
        if not _KERAS_ALONE:
            _torch_side()  # the torch side must be loaded before TensorFlow
        with _native_stderr_captured():
            import keras as _keras  # noqa: F401
            import tensorflow as tf

            if "TF_CONFIG" not in os.environ:  # a multi-worker strategy must precede the first op
                tf.constant(0)  # the first op loads the remaining native libraries (more notices)

        tf.get_logger().setLevel(logging.ERROR)
        try:
            import absl.logging

            absl.logging.set_verbosity(absl.logging.ERROR)
        except ImportError:
            pass
        _KERAS_READY = True
    import keras as _keras

    return _keras


def tensorflow():
    """Return `tensorflow`, imported after the torch side."""
    keras()
    import tensorflow as tf

    return tf
