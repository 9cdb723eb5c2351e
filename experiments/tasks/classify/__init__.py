"""Classification: softmax cross-entropy on logits, accuracy; a network's auxiliary
classifiers (GoogLeNet) add their weighted losses in training.

`torch_task.py` and `keras_task.py` are the twins that train it; `scorer.py` scores the
outputs of either (see `experiments.tasks`).
"""
