"""Project commands: compose, check, contract infer, init, repro."""

from __future__ import annotations

import argparse
import sys

from gitml.core.errors import GitmlError
from gitml.core.text import quoted


def _compose(args: argparse.Namespace) -> int:
    from gitml.config import compose

    if args.check:
        compose.check_fresh(args.output, args.conf)
        print(f"{args.output} is the composition of {args.conf}/")
        return 0
    changed = compose.write(args.output, args.conf, args.overrides)
    print(f"{'wrote' if changed else 'unchanged'}: {args.output}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from gitml.cli import check

    check.check_project(args.params, args.conf, fresh=not args.no_fresh)
    print(f"{args.params}: ok")
    return 0


def _contract_infer(args: argparse.Namespace) -> int:
    import yaml

    from gitml.core import io
    from gitml.data import contract

    frame = io.read_table(args.data)
    if args.target not in frame.columns:
        raise GitmlError(f"--target: column {quoted(args.target)} is not in {args.data}")
    inferred = {"contract": contract.infer(frame, args.target, args.task)}
    text = yaml.safe_dump(inferred, sort_keys=False, allow_unicode=True)
    if args.output:
        io.write_text(args.output, text)
        print(f"wrote {args.output}: review it, then merge it into conf/data/", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _init(args: argparse.Namespace) -> int:
    from gitml.cli import scaffold

    scaffold.init(args.directory, name=args.name)
    print(f"created {args.directory}: cd there and run `gitml repro`")
    return 0


def _repro(args: argparse.Namespace) -> int:
    from gitml.config import compose
    from gitml.vcs import dvc

    if compose.write("params.yaml", "conf", args.overrides):
        print("params.yaml recomposed from conf/", file=sys.stderr)
    return dvc.call(".", "repro", *args.dvc_args)


def register(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser("compose", help="compose conf/ into params.yaml (as `dvc exp run` does)")
    sub.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=hist_gradient_boosting seed=1")
    sub.add_argument("--conf", default="conf", help="the Hydra config folder")
    sub.add_argument("-o", "--output", default="params.yaml")
    sub.add_argument("--check", action="store_true", help="only check that the output equals the composition")
    sub.set_defaults(func=_compose)

    sub = commands.add_parser("check", help="validate params.yaml: every problem with its key path")
    sub.add_argument("--params", default="params.yaml")
    sub.add_argument("--conf", default="conf")
    sub.add_argument("--no-fresh", action="store_true", help="skip the params-equals-composition check")
    sub.set_defaults(func=_check)

    contract = commands.add_parser("contract", help="data contracts").add_subparsers(dest="action", required=True)
    sub = contract.add_parser("infer", help="write a starting contract from a data file")
    sub.add_argument("data", help="a CSV or Parquet file")
    sub.add_argument("--target", required=True, help="the target column")
    sub.add_argument("--task", choices=["classification", "regression"], default="classification")
    sub.add_argument("-o", "--output", help="write YAML here instead of stdout")
    sub.set_defaults(func=_contract_infer)

    sub = commands.add_parser("init", help="create a new, working gitml project")
    sub.add_argument("directory")
    sub.add_argument("--name", help="project name (default: the folder's name)")
    sub.set_defaults(func=_init)

    sub = commands.add_parser("repro", help="recompose params.yaml from conf/, then `dvc repro`")
    sub.add_argument("overrides", nargs="*", help="Hydra overrides applied to conf/ defaults")
    sub.add_argument("--dvc-args", nargs=argparse.REMAINDER, default=[], help="passed to dvc repro")
    sub.set_defaults(func=_repro)
