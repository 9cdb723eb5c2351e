"""Final refits: once a search has picked a configuration, train it on train+val.

The validation split has done its job (choosing); folding most of it into the
training data gives the final model more to learn from. A small seeded slice
stays behind as validation, so per-epoch monitoring still works. The test
split is never touched.
"""
from __future__ import annotations

import numpy as np

from datamodules.core import Split

KEEP_FRACTION = 0.1  # of the validation split, kept out of training for monitoring


def merge_validation_into_train(datamodule, keep_fraction: float = KEEP_FRACTION) -> None:
    """Move all but a seeded `keep_fraction` of `datamodule`'s val split into its train split.

    Normalisation statistics stay those of the original train split (they are
    already applied); the datamodule's digest is recomputed for the new splits.
    """
    train, val = datamodule.splits["train"], datamodule.splits["val"]
    n_keep = max(1, round(len(val) * keep_fraction))
    order = np.random.default_rng(datamodule.split_seed).permutation(len(val))
    keep, merge = np.sort(order[:n_keep]), np.sort(order[n_keep:])
    datamodule.splits["train"] = Split(np.concatenate([train.x, val.x[merge]]),
                                       np.concatenate([train.y, val.y[merge]]))
    datamodule.splits["val"] = Split(val.x[keep], val.y[keep])
    datamodule.digest = datamodule._digest()
