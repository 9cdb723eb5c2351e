"""`nnlab lengths`: seq2seq accuracy by input length, several runs in one plot
(e.g. with and without attention)."""
from __future__ import annotations

ORDER = 75


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("lengths", help="compare translate runs' exact match by input length")
    p.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="MLflow runs of the translate task")
    p.add_argument("--out", default="accuracy_by_length.png", help="where to write the plot")


def run(args) -> int:
    import json
    import tempfile
    from pathlib import Path

    from experiments import tracking
    from experiments.tasks.translate.scorer import plot_accuracy_by_length
    from modules.errors import UserError

    client = tracking.client()
    curves = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run_id in args.run_ids:
            try:
                run = client.get_run(run_id)
                path = client.download_artifacts(run_id, "plots/accuracy_by_length.json", tmp)
            except Exception:  # noqa: BLE001  (MLflow raises several types for a missing run or file)
                raise UserError(f"run {run_id} has no plots/accuracy_by_length.json; "
                                "pass the ids of translate runs (nnlab train --arch seq2seq)") from None
            params = run.data.params
            label = f"{params.get('framework')} {params.get('attention', '?')} ({run_id[:8]})"
            curves[label] = {int(k): v for k, v in json.loads(Path(path).read_text()).items()}
    lengths = sorted({n for curve in curves.values() for n in curve})
    print("length " + " ".join(f"{label:>28}" for label in curves))
    for n in lengths:
        cells = [f"{curve[n]['exact_match']:>28.3f}" if n in curve else f"{'-':>28}" for curve in curves.values()]
        print(f"{n:>6} " + " ".join(cells))
    plot_accuracy_by_length(curves, "exact match by input length", Path(args.out))
    print(f"plot: {args.out}")
    return 0
