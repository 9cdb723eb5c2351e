"""The PyTorch adapter of a datamodule: a DataLoader over the core's arrays, batch for batch the
order `datamodules.core.EpochBatches` gives. Imported only when torch is wanted."""
from __future__ import annotations

import numpy as np

from modules import backend

torch = backend.torch()


class BatchTensors(torch.utils.data.Dataset):
    """Serves whole batches of a nested structure of arrays (e.g. `(x, y)` or `((x, d), y)`)
    by fancy indexing, not sample by sample."""

    def __init__(self, arrays) -> None:
        self.tensors = _map(torch.from_numpy, arrays)
        self.length = len(_first(self.tensors))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i):
        return _map(lambda t: t[i], self.tensors)

    def __getitems__(self, indices):
        index = torch.as_tensor(indices)
        return _map(lambda t: t[index], self.tensors)


class AugmentedBatches(BatchTensors):
    """Training batches `(x, y)` shifted and flipped by `datamodules.augment` in the sampler's
    epoch (the same arrays the Keras adapter computes)."""

    def __init__(self, arrays, datamodule, sampler: "EpochBatchSampler") -> None:
        super().__init__(arrays)
        self.x_numpy, self.datamodule, self.sampler = arrays[0], datamodule, sampler

    def __getitems__(self, indices):
        index = np.asarray(indices)
        x = self.datamodule.augmented(self.x_numpy[index], index, self.sampler.batches.epoch)
        return (torch.from_numpy(x), self.tensors[1][torch.as_tensor(index)])


def _map(fn, structure):
    if isinstance(structure, tuple):
        return tuple(_map(fn, s) for s in structure)
    return fn(structure)


def _first(structure):
    return _first(structure[0]) if isinstance(structure, tuple) else structure


def _keep_batch(batch):
    return batch


class EpochBatchSampler(torch.utils.data.Sampler):
    """Batches of indices in `epoch_order`; the loop calls `set_epoch` each epoch.

    Under distributed training every rank takes its own strided share of the
    same order, so together the ranks see each sample once per epoch.
    """

    def __init__(self, n: int, batch_size: int, seed: int, shuffle: bool,
                 rank: int = 0, world_size: int = 1) -> None:
        from datamodules.core import EpochBatches

        self.batches = EpochBatches(n, batch_size, seed, shuffle, rank, world_size)

    def set_epoch(self, epoch: int) -> None:
        self.batches.epoch = epoch

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def loader(datamodule, split: str, shuffle: bool):
    """The DataLoader of `split`: the training split shuffled per epoch and shared among ranks."""
    datamodule.setup()
    n = len(datamodule.splits[split])
    sampler = EpochBatchSampler(n, datamodule.batch_size, datamodule.seed, shuffle,
                                rank=datamodule.rank if shuffle else 0,
                                world_size=datamodule.world_size if shuffle else 1)
    arrays = datamodule.batch_arrays(split)
    dataset = (AugmentedBatches(arrays, datamodule, sampler) if split == "train" and datamodule.augmentation
               else BatchTensors(arrays))
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=_keep_batch)
