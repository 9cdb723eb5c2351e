"""The Keras adapter of a datamodule: a tf.data pipeline over the core's arrays yielding the
same batches as the torch DataLoader. Imported only when Keras is wanted."""
from __future__ import annotations

import math

import numpy as np

from datamodules.core import epoch_order
from modules import backend


def dataset(datamodule, split: str, epochs: int = 1, first_epoch: int = 0):
    """A tf.data pipeline of `split` (channels-last), the batches of the DataLoader.

    The train split runs `epochs` epochs through one iterator (Keras's
    per-epoch iterator teardown stalls epochs here); pass `steps_per_epoch`
    to `fit`. Other splits yield one pass in order.
    """
    tf = backend.tensorflow()
    arrays = datamodule.batch_arrays(split, layout="channels_last")
    n, batch = len(datamodule.splits[split]), datamodule.batch_size
    steps = math.ceil(n / batch)
    if split == "train":  # under distributed training: this rank's strided share of each order
        rank, ranks = datamodule.rank, datamodule.world_size
        steps = datamodule.steps_per_epoch("train")
        orders = np.stack([epoch_order(n, datamodule.seed, first_epoch + e)[rank::ranks][:steps * batch]
                           for e in range(epochs)])
        n = orders.shape[1]
    else:
        orders, epochs = np.arange(n)[None, :], 1
    tensors = tf.nest.map_structure(tf.constant, arrays)
    order_all = tf.constant(orders.astype(np.int32))

    def gather(k):
        epoch, step = k // steps, k % steps
        start = step * batch
        idx = order_all[epoch, start:tf.minimum(start + batch, n)]
        gathered = tf.nest.map_structure(lambda t: tf.gather(t, idx), tensors)
        if split != "train" or not datamodule.augmentation:
            return gathered
        x, *rest = gathered  # `--augment`: the core's NumPy augmentation, as the torch adapter's
        shifted = tf.numpy_function(
            lambda xb, ib, e: datamodule.augmented(xb, ib, int(e), channels_last=True),
            [x, idx, first_epoch + epoch], tf.float32, stateful=False)
        shifted.set_shape(x.shape)
        return (shifted, *rest)

    options = tf.data.Options()
    options.autotune.enabled = False
    options.deterministic = True
    if datamodule.world_size > 1:  # each worker reads its own share (above), every val/test batch
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return (tf.data.Dataset.range(epochs * steps).map(gather).prefetch(2)
            .with_options(options))
