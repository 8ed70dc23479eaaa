"""Stage card: the model card (Markdown and self-contained HTML) from the pipeline's outputs."""

from __future__ import annotations

from collections.abc import Sequence

from gitml.cli import stage
from gitml.registry import card


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(card.run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
