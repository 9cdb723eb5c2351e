"""Reconstruction: an autoencoder gives back its input (MSE or BCE on pixels in [0, 1]),
scored against a mean-image baseline.

`torch_task.py` and `keras_task.py` are the twins that train it; `scorer.py` scores the
outputs of either (see `experiments.tasks`).
"""
