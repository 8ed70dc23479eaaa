"""The shared entry point of every DVC stage: parse argv, load params, report errors.

Stages stay a few lines each: a stage body takes validated Params and does its work;
this module turns a GitmlError into one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from gitml import config
from gitml.errors import GitmlError


def run(body: Callable[[config.Params], None], argv: Sequence[str] | None, description: str | None) -> int:
    """Run a stage body with params from `--params` (default params.yaml); return the exit code."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="the composed params file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    try:
        body(config.load(args.params))
    except GitmlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0
