"""Forecasting: next-value regression (MSE) on windows of a series, scored one step ahead
and free-running (`free_run.py`, shared by both twins); the echo state network's readout
is solved in closed form instead of by gradient steps.

`torch_task.py` and `keras_task.py` are the twins that train it; `scorer.py` scores the
outputs of either (see `experiments.tasks`).
"""
