"""`python -m experiments` is `nnlab`."""
from experiments.cli import main

raise SystemExit(main())
