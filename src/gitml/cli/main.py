"""The `gitml` command line: parse arguments, call the library, print one line per error.

Commands live in `gitml.cli.commands.*`, one module per concern, each with a
`register(subparsers)`; a command imports what it needs only when it runs, so
`gitml --help` and light commands do not pay for scikit-learn or skops.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from gitml.core.errors import GitmlError

#: Modules that add subcommands, in the order `gitml --help` lists them.
COMMAND_MODULES = (
    "gitml.cli.commands.project",
    "gitml.cli.commands.registry",
    "gitml.cli.commands.features",
    "gitml.cli.commands.experiments",
    "gitml.cli.commands.serve",
    "gitml.cli.commands.monitor",
    "gitml.cli.commands.gate",
    "gitml.cli.commands.site",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gitml", description="Declarative GitOps for the ML lifecycle.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show progress logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def setup_logging(verbose: bool) -> None:
    """Library modules log; this decides what a person sees (on stderr, so stdout stays the output)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s",
                        stream=sys.stderr)


def report(command: Callable[[], int]) -> int:
    """Run a command; a GitmlError becomes one `error:` line and the error's exit code."""
    try:
        return command()
    except GitmlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(args.verbose)
    return report(lambda: args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
