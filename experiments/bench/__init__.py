"""`nnlab bench`: what the lab's training paths cost against hand-written loops.

Each measurement runs in its own process (`python -m experiments.bench.worker`),
and the pairs run interleaved (A B A B ...), because a shared machine is noisy:
the same run swings widely between repeats. The report
gives medians, min-max and the median of the paired ratios.
"""
