"""`nnlab list`: every architecture with both parameter counts, every dataset."""
from __future__ import annotations

import json

ORDER = 10


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("list", help="architectures (with parameter counts) and datasets")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--refresh", nargs="*", metavar="ARCH",
                   help="rebuild these architectures (all if none named) in both frameworks "
                        "and recount their parameters")


def run(args) -> int:
    from experiments import catalog_view

    if args.refresh is not None:
        catalog_view.refresh_parameter_counts(args.refresh or None)
    listing = catalog_view.listing()
    print(json.dumps(listing, indent=2) if args.json else catalog_view.format_listing(listing))
    return 0
