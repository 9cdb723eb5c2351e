"""`nnlab bench`: what the lab's training paths cost against hand-written loops.

Each measurement runs in its own process (`python -m experiments.bench.worker`),
and the pairs run interleaved (A B A B ...), because this kind of machine is
shared and noisy: the same run swings up to 2x between repeats. The report
gives medians, min-max and the median of the paired ratios.
"""
