"""`nnlab report`: leaderboard and comparison plots (DVC's report stage)."""
from __future__ import annotations

import json

ORDER = 70


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("report", help="leaderboard (Markdown, CSV) and comparison plots")
    p.add_argument("--train", default="metrics/train", help="folder of per-run metrics JSON files")
    p.add_argument("--tune", default="metrics/tune", help="folder with the study's best.json")
    p.add_argument("--out", default="reports", help="where to write the report")
    p.add_argument("--params", default="params.yaml",
                   help="the params file whose pipeline's runs are reported (its pipeline: matrix or runs:)")
    p.add_argument("--published", metavar="DATA",
                   help="also set the runs beside the published table of DATA (fashion_mnist): "
                        "published.md and published.csv")
    p.add_argument("--quiet", action="store_true")


def run(args) -> int:
    import sys
    from pathlib import Path

    from experiments.host import other_cpu_note
    from experiments.published import PUBLISHED
    from experiments.report import build_report
    from modules.errors import UserError

    if args.published is not None and args.published not in PUBLISHED:
        raise UserError(f"no published table for {args.published!r}; --published takes one of: "
                        + ", ".join(sorted(PUBLISHED)))
    summary = build_report(Path(args.train), Path(args.tune), Path(args.out), Path(args.params),
                           args.published)
    note = other_cpu_note(sorted(Path(args.train).glob("*.json")))
    if note:
        print(note, file=sys.stderr)
    if not args.quiet:
        print((Path(args.out) / "leaderboard.md").read_text())
        if args.published:
            print((Path(args.out) / "published.md").read_text())
        print(json.dumps(summary))
    return 0
