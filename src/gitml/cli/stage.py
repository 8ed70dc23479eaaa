"""The shared entry point of every DVC stage: parse argv, load params, run the stage, report errors.

A file in `stages/` is one call, `stage.run(<library stage function>, argv, __doc__)`:
`gitml init` copies those files into every project, so everything a stage does lives in
the library, where an upgrade reaches it. An error is one line on stderr and an exit code.
Before the stage body runs, the temporaries a killed run left beside the project's outputs
are swept (`gitml.core.io.sweep`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from gitml.cli.main import report, setup_logging
from gitml.config import Params, load
from gitml.core import io
from gitml.core.errors import OK


def run(body: Callable[[Params], Any], argv: Sequence[str] | None, description: str | None) -> int:
    """Run a stage body with params from `--params` (default params.yaml); return the exit code."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="the composed params file")
    args = parser.parse_args(argv)
    setup_logging(verbose=True)

    def stage() -> int:
        params = load(args.params)
        io.sweep(params.paths.model_dump().values())  # what a killed run of any stage left behind
        body(params)
        return OK

    return report(stage)
