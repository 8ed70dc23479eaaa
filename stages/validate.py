"""Stage validate: check the raw data against its contract; fail with a column-level report."""

from __future__ import annotations

from collections.abc import Sequence

from gitml.cli import stage
from gitml.data import validate


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(validate.run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
