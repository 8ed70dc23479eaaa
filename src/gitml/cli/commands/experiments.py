"""Experiment commands: `gitml experiments`, the comparison table of `dvc exp show`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict


def _experiments(args: argparse.Namespace) -> int:
    from gitml.tune import experiments

    found = experiments.rows(experiments.show_json(args.dvc_args))
    if args.json:
        json.dump([asdict(row) for row in found], sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(experiments.table(found, args.param or (), args.sort_by))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "experiments",
        help="compare experiments: changed params and metrics (wraps `dvc exp show --json`)",
        description="Queue a sweep with `dvc exp run --queue -S 'model.n_estimators=100,200,400'`, run it with "
        "`dvc queue start -j 2` (then `dvc queue stop`), and compare the results here.",
    )
    sub.add_argument("--param", action="append", help="a params key to show (default: every key that differs)")
    sub.add_argument("--sort-by", metavar="METRIC", help="sort rows by this metric, best first")
    sub.add_argument("--json", action="store_true", help="print the rows as JSON")
    sub.add_argument("--dvc-args", nargs=argparse.REMAINDER, default=[], help="passed to `dvc exp show` (e.g. -A)")
    sub.set_defaults(func=_experiments)
