"""Keras `fit` across machines: tf.distribute.MultiWorkerMirroredStrategy over `--workers`.

Keras 3 `fit` fails under that strategy on TensorFlow (keras-team/keras#20585,
https://github.com/keras-team/keras/issues/20585), two defects in
`keras/src/backend/tensorflow/trainer.py`:

1. `TensorFlowTrainer._maybe_symbolic_build` hands the first batch, a tuple of PerReplica
   values, to `strategy.reduce("MEAN", batch, axis=None)`; MirroredStrategy maps over the
   tuple, the collective strategy passes it to `convert_to_tensor` ("Attempt to convert a
   value (PerReplica...)"). The build needs shapes only: one local replica's batch does.
2. `reduce_per_replica` reduces every log along axis 0 under that strategy, and the logs are
   0-d ("Invalid reduction dimension 0", tensorflow/tensorflow#72388): a scalar is averaged
   over the workers as a whole (`axis=None`).

`patch_keras()` replaces those two functions, only on the Keras versions checked here and only
in a process that trains across workers. `tests/test_keras_multiworker.py` keeps the unpatched
`fit` failing as a strict expected failure: the day it passes, upstream is fixed and this
override can go.
"""
from __future__ import annotations

import json
import os
import socket
import time

from modules import backend
from modules.errors import UserError

# the Keras releases whose trainer was read and patched here (the defect is on Keras master too)
PATCHED_KERAS = ((3, 5), (3, 15))
_PATCHED = False
_STRATEGY = None  # one per process: TensorFlow's collectives are configured once


def parse_workers(text: str) -> list[str]:
    """`host:port,host:port` -> the list of addresses; a malformed one is a UserError."""
    addresses = [part.strip() for part in text.split(",") if part.strip()]
    for address in addresses:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UserError(f"--workers: {address!r} is not HOST:PORT; pass every worker as HOST:PORT, "
                            "comma-separated, the same list on every worker")
    if len(addresses) < 2:
        raise UserError("--workers needs at least two HOST:PORT entries (one per worker, this one "
                        "included); for one machine's devices use --distribute")
    if len(set(addresses)) != len(addresses):
        raise UserError("--workers lists an address twice; give each worker its own HOST:PORT")
    return addresses


def keras_version() -> tuple[int, int]:
    keras = backend.keras()
    major, minor = keras.version().split(".")[:2]
    return int(major), int(minor)


def patch_keras() -> bool:
    """Apply the override of keras-team/keras#20585 (see the module docstring) on the Keras
    versions in PATCHED_KERAS; return whether it is in place."""
    global _PATCHED
    if _PATCHED:
        return True
    low, high = PATCHED_KERAS
    if not low <= keras_version() <= high:
        return False
    tf = backend.tensorflow()
    from keras import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    unpatched_reduce = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            def mean(value):  # a 0-d log averaged over the workers as a whole, not along axis 0
                if isinstance(value, tf.distribute.DistributedValues):
                    first = strategy.experimental_local_results(value)[0]
                else:
                    first = value
                if getattr(first, "shape", None) is not None and first.shape.rank == 0:
                    return strategy.reduce("MEAN", value, axis=None)
                return unpatched_reduce(value, strategy, reduction)
            return tree.map_structure(mean, values)
        return unpatched_reduce(values, strategy, reduction)

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, it in iterator:
                batch = next(it)
                # shapes are all the build needs: the first local replica's batch
                data_batch = tree.map_structure(
                    lambda v: (self.distribute_strategy.experimental_local_results(v)[0]
                               if isinstance(v, tf.distribute.DistributedValues) else v), batch)
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    _PATCHED = True
    return True


def wait_for_peers(workers: list[str], index: int, timeout_s: float) -> None:
    """Listen on this worker's address and wait until every other worker's address accepts a
    connection (its own wait, or its TensorFlow server); after `timeout_s` a UserError.

    TensorFlow's own start-up blocks without a bound when a peer never comes, holding the
    interpreter, so the wait is done here before it starts.
    """
    host, _, port = workers[index].rpartition(":")
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("" if host not in ("localhost", "127.0.0.1") else host, int(port)))
        listener.listen(len(workers))
    except OSError as err:
        raise UserError(f"worker {index}: cannot listen on {workers[index]} ({err.strerror}); "
                        "pick a free port in --workers") from None
    waiting = [w for i, w in enumerate(workers) if i != index]
    deadline = time.monotonic() + timeout_s
    try:
        while waiting:
            address = waiting[0]
            peer_host, _, peer_port = address.rpartition(":")
            try:
                socket.create_connection((peer_host, int(peer_port)), timeout=1).close()
                waiting.pop(0)
            except OSError:
                if time.monotonic() > deadline:
                    raise UserError(f"worker {index}: {', '.join(waiting)} did not come up within "
                                    f"{timeout_s:g} s; start every worker with the same --workers list "
                                    "(each with its --worker-index), or raise --worker-timeout") from None
                time.sleep(0.2)
    finally:
        listener.close()


def join_cluster(workers: str, index: int, timeout_s: float) -> None:
    """Set TF_CONFIG for worker `index` of `workers` and wait for the others (`wait_for_peers`);
    call before TensorFlow loads: its strategy must then come before any other op."""
    addresses = parse_workers(workers)
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": addresses},
                                          "task": {"type": "worker", "index": index}})
    wait_for_peers(addresses, index, timeout_s)


def strategy():
    """The MultiWorkerMirroredStrategy of the cluster `join_cluster` set up, Keras patched for it
    (create it before TensorFlow runs any op)."""
    global _STRATEGY
    if _STRATEGY is None:
        tf = backend.tensorflow()
        if not patch_keras():
            low, high = PATCHED_KERAS
            raise UserError(f"--workers: Keras {'.'.join(map(str, keras_version()))} is outside the versions "
                            f"whose multi-worker fit the lab patches ({low[0]}.{low[1]}-{high[0]}.{high[1]}, "
                            "keras-team/keras#20585); install one of those")
        _STRATEGY = tf.distribute.MultiWorkerMirroredStrategy()
    return _STRATEGY


def share_batches(datamodule, workers: str, index: int) -> None:
    """Give worker `index` its strided share of each epoch's order in batches of
    batch_size / workers, as torch DDP's ranks: the workers' k-th batches together are the
    one-process k-th batch (TensorFlow's own dataset sharding is turned off)."""
    count = len(parse_workers(workers))
    datamodule.rank, datamodule.world_size = index, count
    datamodule.batch_size = max(1, datamodule.batch_size // count)


def predict_locally(*models) -> None:
    """After `fit`: predict on this worker alone (every worker holds the same weights), not
    gathered over the workers, whose unsharded outputs would be repeated once per worker."""
    for model in models:
        if hasattr(model, "_distribute_strategy"):
            model._distribute_strategy = None
            model.predict_function = None
