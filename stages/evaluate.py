"""Stage evaluate: metrics, test predictions, curve data and permutation importance."""

from __future__ import annotations

from collections.abc import Sequence

from gitml.cli import stage
from gitml.train import evaluate


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(evaluate.run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
