"""Adversarial generation (a DCGAN): one discriminator step then one generator step per
batch; samples are judged by the lab's own classifier (`sample_quality.py`).

`torch_task.py` and `keras_task.py` are the twins that train it; `scorer.py` scores the
outputs of either (see `experiments.tasks`).
"""
