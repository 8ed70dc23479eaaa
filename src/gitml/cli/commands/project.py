"""Project commands: compose, check, contract infer, init, data add, repro."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gitml.core.errors import GitmlError
from gitml.core.text import quoted

#: Changed values `gitml repro` names when it recomposes params.yaml.
_SHOWN = 8


def _compose(args: argparse.Namespace) -> int:
    from gitml.config import compose

    if args.check:
        compose.check_fresh(args.output, args.conf)
        print(f"{args.output} is the composition of {args.conf}/")
        return 0
    if args.overrides and Path(args.output).resolve() == Path("params.yaml").resolve():
        _save(args.conf, args.overrides)
        changed = compose.write(args.output, args.conf)
    else:  # a preview elsewhere: conf/ stays as it is
        changed = compose.write(args.output, args.conf, args.overrides)
    print(f"{'wrote' if changed else 'unchanged'}: {args.output}")
    return 0


def _save(conf: str, overrides: list[str]) -> None:
    """Write overrides into conf/, saying where, so the choice sticks."""
    from gitml.config import overrides as saved

    for change in saved.save(conf, overrides):
        print(f"{change}")


def _recompose(params: str, conf: str) -> None:
    """Compose conf/ into params.yaml, naming every value that changes (a hand edit is lost only out loud)."""
    from gitml.config import compose

    before = Path(params).read_text(encoding="utf-8") if Path(params).is_file() else ""
    after = compose.compose(conf)
    if before == after:
        return
    found = compose.differences(before, after) if before else []
    shown = "; ".join(f"{key}: {_value(old)} -> {_value(new)}" for key, old, new in found[:_SHOWN])
    more = f"; and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
    print(f"{params} recomposed from {conf}/" + (f" ({shown}{more})" if shown else ""), file=sys.stderr)
    compose.write(params, conf)


def _value(value: object) -> str:
    from gitml.config import compose
    from gitml.core.text import cut

    return "absent" if value is ... else cut(compose.flow(value), 40)


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
    task, reason = contract.infer_task(frame[args.target], args.target)
    if args.task and args.task != task:
        reason = f"--task {args.task} (inferred {task}: {reason})"
        task = args.task
    print(f"task: {task} ({reason})", file=sys.stderr)
    inferred = {"task": task, "contract": contract.infer(frame, args.target, task)}
    for note in contract.notes(frame, inferred["contract"], args.target):
        print(f"note: {note}", file=sys.stderr)
    text = yaml.safe_dump(inferred, sort_keys=False, allow_unicode=True)
    if args.output:
        io.write_text(args.output, text)
        print(f"wrote {args.output}: review it, then merge it into conf/data/", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _init(args: argparse.Namespace) -> int:
    from gitml.cli import scaffold

    if (args.target or args.task or args.model) and not args.data:
        raise GitmlError("--target, --task and --model go with --data FILE")
    directory, added = scaffold.init(args.directory, name=args.name, data=args.data, target=args.target,
                                     task=args.task, model=args.model)
    for line in added.lines() if added else []:
        print(line)
    print(f"created {directory}: cd there and run `gitml repro`")
    return 0


def _data_add(args: argparse.Namespace) -> int:
    from gitml.cli import scaffold

    added = scaffold.add_data(".", args.file, args.target, name=args.name, task=args.task, model=args.model)
    for line in added.lines():
        print(line)
    print(f"selected: data={added.name} model={added.model} (conf/config.yaml); run `gitml repro`, then commit "
          f"conf/, params.yaml and {added.path}.dvc")
    return 0


def _repro(args: argparse.Namespace) -> int:
    from gitml.vcs import dvc

    if args.overrides:
        _save("conf", args.overrides)
    _recompose("params.yaml", "conf")
    return dvc.call(".", "repro", *args.dvc_args)


def register(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "compose", help="compose conf/ into params.yaml (as `dvc exp run` does); overrides are written into conf/")
    sub.add_argument("overrides", nargs="*",
                     help="Hydra overrides, e.g. model=hist_gradient_boosting seed=1: written into conf/ so they "
                          "stick (with -o elsewhere: a preview, conf/ untouched)")
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
    sub.add_argument("--task", choices=["classification", "regression"],
                     help="the task (default: inferred from the target, and printed with the reason)")
    sub.add_argument("-o", "--output", help="write YAML here instead of stdout")
    sub.set_defaults(func=_contract_infer)

    tasks = ["classification", "regression"]
    sub = commands.add_parser("init", help="create a new, working gitml project (on your data with --data)")
    sub.add_argument("directory")
    sub.add_argument("--name", help="project name (default: the folder's name)")
    sub.add_argument("--data", help="a CSV or Parquet file to train on (the reference data otherwise)")
    sub.add_argument("--target", help="with --data: the column to predict")
    sub.add_argument("--task", choices=tasks, help="with --data: the task (default: inferred from the target)")
    sub.add_argument("--model", help="with --data: a model config of conf/model/ (default: picked by table size)")
    sub.set_defaults(func=_init)

    data = commands.add_parser("data", help="your own data").add_subparsers(dest="action", required=True)
    sub = data.add_parser("add", help="add a CSV or Parquet file to this project and select it")
    sub.add_argument("file")
    sub.add_argument("--target", required=True, help="the column to predict")
    sub.add_argument("--name", help="the data config's name, conf/data/NAME.yaml (default: from the file name)")
    sub.add_argument("--task", choices=tasks, help="the task (default: inferred from the target)")
    sub.add_argument("--model", help="a model config of conf/model/ (default: picked by table size)")
    sub.set_defaults(func=_data_add)

    sub = commands.add_parser("repro", help="recompose params.yaml from conf/, then `dvc repro`")
    sub.add_argument("overrides", nargs="*", help="Hydra overrides, written into conf/ first (as `gitml compose`)")
    sub.add_argument("--dvc-args", nargs=argparse.REMAINDER, default=[], help="passed to dvc repro")
    sub.set_defaults(func=_repro)
