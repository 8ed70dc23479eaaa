"""The `gitml` command line: parse arguments, call the library, print one line per error.

Commands live in `gitml.commands.*`, one module per concern, each with a
`register(subparsers)`; a command imports what it needs only when it runs, so
`gitml --help` and light commands do not pay for scikit-learn or skops.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from gitml.errors import GitmlError

#: Modules that add subcommands, in the order `gitml --help` lists them.
COMMAND_MODULES = (
    "gitml.commands.project",
    "gitml.commands.registry",
    "gitml.commands.features",
    "gitml.commands.experiments",
    "gitml.commands.serve",
    "gitml.commands.monitor",
    "gitml.commands.gate",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gitml", description="Declarative GitOps for the ML lifecycle.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show progress logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s", stream=sys.stderr
    )
    try:
        return args.func(args)
    except GitmlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
