"""PyTorch networks, one file per family, mirrored by `modules/keras/`.

Import this package only through `modules.backend.torch()` (or the registry),
which loads the torch side before TensorFlow.
"""
