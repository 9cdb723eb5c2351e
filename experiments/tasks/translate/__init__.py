"""Sequence-to-sequence translation: cross-entropy per target token under teacher forcing,
greedy decoding for the outputs, scored by exact match and by input length.

`torch_task.py` and `keras_task.py` are the twins that train it; `scorer.py` scores the
outputs of either (see `experiments.tasks`).
"""
