"""Feature commands: `gitml features list`, `show NAME` and `build --as-of TIMESTAMP`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gitml.core.errors import GitmlError
from gitml.core.text import quoted


def _catalog(args: argparse.Namespace) -> dict[str, Any]:
    """The catalog file written by the pipeline, or (before any run) the definitions from params."""
    from gitml import config
    from gitml.core import io

    params = config.load(args.params)
    path = Path(args.catalog or params.paths.catalog)
    if path.is_file():
        return io.read_json(path)
    from gitml.features import catalog

    print(f"{path} not found: definitions from {args.params}, no statistics (run `dvc repro`)", file=sys.stderr)
    return {"features": catalog.definitions(params), "views": catalog.view_definitions(params)}


def _list(args: argparse.Namespace) -> int:
    found = _catalog(args)
    rows = [("feature", "kind", "dtype", "role", "transform", "owner", "hash")]
    for f in found["features"]:
        steps = " > ".join(step["_target_"].rsplit(".", 1)[-1] for step in f["transform"]) or "passthrough"
        rows.append((f["name"], f["kind"], f["dtype"], f["role"], steps, f["owner"], f["definition_hash"][:12]))
    for view in found.get("views", []):
        for name in view["features"] or ["*"]:
            rows.append((name, f"view:{view['name']}", "", "", f"as of, ttl {view['ttl'] or 'none'}",
                         view["owner"], view["definition_hash"][:12]))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _show(args: argparse.Namespace) -> int:
    found = _catalog(args)
    entries = {f["name"]: f for f in found["features"]}
    entries.update({view["name"]: view for view in found.get("views", []) if view["name"] not in entries})
    if args.name not in entries:
        known = ", ".join(sorted(entries)[:10]) + (" ..." if len(entries) > 10 else "")
        raise GitmlError(f"feature {quoted(args.name)} is not in the catalog (features: {known})")
    print(json.dumps(entries[args.name], indent=2, ensure_ascii=False))
    return 0


def _build(args: argparse.Namespace) -> int:
    from gitml import config
    from gitml.core import io
    from gitml.features import pointintime

    params = config.load(args.params)
    as_of = pointintime.parse_as_of(args.as_of)
    frame = pointintime.build(params.features, as_of)
    output = args.output or params.paths.training_set
    io.write_parquet(output, frame)
    print(f"wrote {output}: {len(frame):,} labels as of {as_of if as_of is not None else 'now'}")
    return 0


def _options(parser: argparse.ArgumentParser, default: Any = None) -> None:
    """--params and --catalog, accepted before or after the action (after wins)."""
    params_default = "params.yaml" if default is None else default
    parser.add_argument("--params", default=params_default, help="the composed params file")
    parser.add_argument("--catalog", default=default, help="catalog file (default: paths.catalog in params)")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("features", help="the feature catalog and point-in-time training sets")
    _options(parser)
    parser.set_defaults(func=_list)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    sub = actions.add_parser("list", help="every feature: kind, dtype, transform, owner, definition hash")
    sub.set_defaults(func=_list)
    sub = actions.add_parser("show", help="one feature's catalog entry (JSON)")
    sub.add_argument("name")
    sub.set_defaults(func=_show)
    sub = actions.add_parser("build", help="join feature views to the labels as of a time (point-in-time correct)")
    sub.add_argument("--as-of", help="leave out labels and feature values after this time (default: now)")
    sub.add_argument("-o", "--output", help="output Parquet file (default: paths.training_set)")
    sub.set_defaults(func=_build)
    for action in actions.choices.values():
        _options(action, argparse.SUPPRESS)
