"""Stage train: fit preprocessing + estimator (tuned parameters on top); save the model (skops) and its signature."""

from __future__ import annotations

from collections.abc import Sequence

from gitml.cli import stage
from gitml.train import fit


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(fit.run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
