"""Stage ingest: load the configured data source into data/raw as Parquet."""

from __future__ import annotations

from collections.abc import Sequence

from gitml.cli import stage
from gitml.data import ingest


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(ingest.run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
