"""Stage featurize: the seeded, stratified train/test split of the contract's columns."""

from __future__ import annotations

from collections.abc import Sequence

from gitml import data, features, io, stage
from gitml.config import Params


def run(params: Params) -> None:
    frame = io.read_table(params.paths.raw)
    roles = features.input_columns(data.contract(params.data), params.data.target, params.features)
    selected = features.select(frame, roles, params.data.target, params.paths.raw)
    train, test = features.split(selected, params.data.target, params.data.task, params.features, params.seed)
    io.write_parquet(params.paths.train, train)
    io.write_parquet(params.paths.test, test)


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
