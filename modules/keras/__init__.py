"""Keras networks, one file per family, mirroring `modules/torch/`.

Import this package only through `modules.backend.keras()` (or the registry),
which loads the torch side before TensorFlow.
"""
