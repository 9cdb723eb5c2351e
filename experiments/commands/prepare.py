"""`nnlab prepare`: generate or load a dataset into its versioned file under data/prepared/."""
from __future__ import annotations

import json

ORDER = 15


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("prepare", help="write a dataset's prepared file and digest (DVC's prepare stage)")
    p.add_argument("--data", required=True, help="dataset name (see nnlab list)")
    p.add_argument("--force", action="store_true", help="rewrite the prepared file even if present")
    p.add_argument("--metrics-out", help="also write the digest JSON here (DVC tracks it under metrics/)")
    p.add_argument("--quiet", action="store_true")


def run(args) -> int:
    import datamodules
    from datamodules.core import data_root
    from experiments.config import TrainConfig
    from experiments.files import write_json_atomic, write_metrics_json
    from experiments.plan import load_params
    from modules.errors import UserError

    datamodules.get_info(args.data)
    split_seed = load_params().get("split_seed", TrainConfig.split_seed)
    datamodule = datamodules.create(args.data, split_seed=split_seed)
    if datamodule.prepared_path() is None:
        raise UserError(f"{args.data} is read from its downloaded files in {data_root() / 'raw'}; "
                        "it has no prepared file: use one of the embedded datasets (digits, mnist1d)")
    datamodule.prepare_data(force=args.force)
    datamodule.setup()
    summary = {"data": args.data, "file": str(datamodule.prepared_path()),
               "source_digest": datamodule.source_digest, "digest": datamodule.digest,
               "split_seed": split_seed, "shape": list(datamodule.input_shape),
               "splits": {s: len(datamodule.splits[s]) for s in ("train", "val", "test")}}
    write_json_atomic(datamodule.prepared_path().with_suffix(".json"), summary)
    if args.metrics_out:  # committed with the pipeline, so `dvc exp show` can read it in any revision
        write_metrics_json(args.metrics_out, summary)  # split counts; digests and paths beside it
    if not args.quiet:
        print(json.dumps(summary))
    return 0
