"""Optuna studies over architectures and frameworks (`nnlab tune`), one module per concern.

`options` (what `nnlab tune` was asked for), `space` (the search space, from the registry),
`study` (create or resume a study, its parent MLflow run, progress), `objective` (one trial:
the normal training flow on the plan the trial draws through `experiments.plan.resolve`),
`workers` (trials in this process, or `--jobs N` worker processes), `storage` (Optuna
storages and their workers), `tracking` (the study's MLflow runs), `callbacks` (per-epoch
pruning in both frameworks), `best` (`nnlab best`: the best trial, refit on train+val).

A trial's run is nested under the study's MLflow run. Studies persist in an Optuna storage,
so the same command resumes one; `--jobs N` runs N worker processes on the same study.
`--trials N` is the study's budget: trials that finished (COMPLETE, PRUNED, or FAIL with a
reason) count; a trial lost with its worker does not, so a rerun after a crash runs it again.
"""
