"""One module per `nnlab` command: `add_parser(subparsers)` and `run(args) -> int`.

Keep these imports light (argparse and framework-free modules only); import
torch, TensorFlow, MLflow or Optuna inside `run`.
"""
