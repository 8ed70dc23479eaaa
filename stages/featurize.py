"""Stage featurize: de-duplicate, then the seeded, stratified train/test split of the model's raw inputs."""

from __future__ import annotations

from collections.abc import Sequence

from gitml.cli import stage
from gitml.features import split


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(split.run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
