"""Stage tune: search hyperparameters (or model=auto's families) by cross-validation."""

from __future__ import annotations

from collections.abc import Sequence

from gitml.cli import stage
from gitml.tune import search


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(search.run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
