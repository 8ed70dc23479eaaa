"""Stage ingest: load the configured data source into data/raw as Parquet."""

from __future__ import annotations

from collections.abc import Sequence

from gitml import data, io, stage
from gitml.config import Params


def run(params: Params) -> None:
    io.write_parquet(params.paths.raw, data.load(params.data, params.seed))


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
