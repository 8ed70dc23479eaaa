"""Stage catalog: the feature catalog (data/features/catalog.json) and its readable page (reports/features.md)."""

from __future__ import annotations

from collections.abc import Sequence

from gitml.cli import stage
from gitml.features import catalog


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(catalog.run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
