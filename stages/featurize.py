"""Stage featurize: de-duplicate, then the seeded, stratified train/test split of the model's raw inputs."""

from __future__ import annotations

from collections.abc import Sequence

from gitml import featurize, stage
from gitml.config import Params


def run(params: Params) -> None:
    featurize.run(params)


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
